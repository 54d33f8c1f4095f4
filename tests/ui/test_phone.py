"""What an employee opens from DingTalk on a phone (390×844), as they open it: from the (sandbox) DingTalk client's
workbench. Each page fits the phone's width and shows no English: the Kingdee landing after single sign-on, the
refusal an unmapped employee gets, and the stock lookup before and after a search. UI_SCREENSHOTS=<folder> keeps
what each looked like."""

import os

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.mobile.conftest import lookup  # noqa: F401
from tests.reports.conftest import world  # noqa: F401
from tests.ui.test_tour import ALLOWED, CHROMIUM_ARGS, SCREENSHOTS, VISIBLE

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def phone_browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(phone_browser):
    context = phone_browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20000)
    # Nothing may leave the machine.
    context.route("https://login.dingtalk.com/**", lambda route: route.fulfill(body="dingtalk login", status=200))
    yield context.new_page()
    context.close()


def problems(page, name):
    """English words and sideways scrolling of the page as it is now."""
    seen = page.evaluate(VISIBLE, ALLOWED)
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"phone-{name}.png"), full_page=True)
    return {"english": seen["english"], "sideways": seen["pageOverflow"]}


def open_from_workbench(page, base, person, url=""):
    page.goto(f"{base}/sandbox/dingtalk/client/")
    page.select_option("#userid", person.userid)
    if url:
        page.fill("#url", url)
    page.click("#open-top")


FITS = {"english": [], "sideways": 0}


def test_an_employee_lands_in_kingdee_on_a_phone(phone, lookup):  # noqa: F811
    open_from_workbench(phone, lookup["url"], lookup["shanghai"])
    phone.wait_for_selector("#kd-user")
    assert problems(phone, "kingdee-landing") == FITS


def test_an_unmapped_employee_reads_the_refusal_on_a_phone(phone, lookup):  # noqa: F811
    open_from_workbench(phone, lookup["url"], lookup["unmapped"])
    phone.wait_for_selector("#sso-refused")
    assert problems(phone, "sso-refused") == FITS


def test_the_stock_lookup_opened_from_the_workbench_fits_a_phone(phone, lookup):  # noqa: F811
    open_from_workbench(phone, lookup["url"], lookup["shanghai"], "/m/inventory/?corpId=$CORPID$")
    search = phone.get_by_placeholder("物料编码、名称或规格型号")
    expect(search).to_be_visible()
    assert problems(phone, "lookup-home") == FITS
    search.fill("网关")
    phone.get_by_role("button", name="搜索").click()
    expect(phone.locator("section.material h2")).to_contain_text(["智能网关 X1"])
    assert problems(phone, "lookup-results") == FITS
