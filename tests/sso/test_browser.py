"""Playwright driving Debian's Chromium: the whole SSO trip as a person takes it, against the sandboxes."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from sso.models import LoginEvent
from tests.sso.sandbox import sandbox_sso  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUNDLE = Path(settings.BASE_DIR) / "sso" / "static" / "sso" / "vendor" / "dingtalk-jsapi.js"


@pytest.fixture(scope="module")
def browser():
    assert BUNDLE.exists(), "build the dingtalk-jsapi bundle first: make assets"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(20000)
    # Nothing may leave the machine: DingTalk's real login host answers from here.
    context.route("https://login.dingtalk.com/**", lambda route: route.fulfill(body="dingtalk login", status=200))
    page = context.new_page()
    yield page
    context.close()


def open_as_in_dingtalk(page, env, person, app_url=""):
    page.goto(f"{env['live_server'].url}/sandbox/dingtalk/client/")
    page.select_option("#userid", person.userid)
    if app_url:
        page.fill("#url", app_url)
    page.click("#open-top")


def test_in_dingtalk_an_employee_lands_in_kingdee_as_their_kingdee_user(page, sandbox_sso):
    person = sandbox_sso["mapped"][0]
    open_as_in_dingtalk(page, sandbox_sso, person)
    page.wait_for_selector("#kd-user")
    assert page.get_attribute("#kd-user", "data-username") == person.kingdee_username
    assert LoginEvent.objects.get().flow == "in_client"


def test_a_workbench_link_can_open_an_allowed_kingdee_form(page, sandbox_sso):
    open_as_in_dingtalk(page, sandbox_sso, sandbox_sso["mapped"][2], "/sso/dingtalk/?corpId=$CORPID$&form=AP_PAYBILL")
    page.wait_for_selector("#kd-user")
    assert page.get_attribute("#kd-form", "data-formid") == "AP_PAYBILL"


def test_in_a_plain_browser_the_page_falls_back_to_the_dingtalk_web_login(page, sandbox_sso):
    person = sandbox_sso["mapped"][1]
    page.goto(f"{sandbox_sso['live_server'].url}/sso/dingtalk/?corpId={sandbox_sso['corp_id']}")
    page.wait_for_selector("#consent")  # the sandbox's login.dingtalk.com page
    page.select_option("#userid", person.userid)
    page.click("#consent")
    page.wait_for_selector("#kd-user")
    assert page.get_attribute("#kd-user", "data-username") == person.kingdee_username
    assert LoginEvent.objects.get().flow == "oauth"


def test_an_unmapped_employee_ends_on_the_chinese_refusal_page(page, sandbox_sso):
    open_as_in_dingtalk(page, sandbox_sso, sandbox_sso["unmapped"])
    page.wait_for_selector("#sso-refused")
    reference = page.text_content("#sso-reference")
    assert "参考编号" in page.content() and "IT" in page.content()
    assert LoginEvent.objects.get(reference=reference).reason == "unmapped"


def test_the_real_jsapi_outside_dingtalk_sends_the_browser_to_dingtalks_login(page, sandbox_sso):
    dingtalk = sandbox_sso["sso"].dingtalk
    dingtalk.base_url = dingtalk.api_base_url = "https://oapi.dingtalk.com/"  # a real organisation: no shim
    dingtalk.save()
    page.goto(f"{sandbox_sso['live_server'].url}/sso/dingtalk/?corpId={dingtalk.corp_id}&form=AP_PAYBILL")
    page.wait_for_url("https://login.dingtalk.com/**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["client_id"] == [dingtalk.app_key] and query["prompt"] == ["consent"]
    assert query["redirect_uri"][0].endswith("/sso/dingtalk/oauth/callback") and query["state"][0]
