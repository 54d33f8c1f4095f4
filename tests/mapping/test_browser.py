"""The pages this work changed, in Chromium at 1366×768: the mapping table fits, parameters follow the transform,
the wizard walks to a real record. OPS_SCREENSHOTS=<folder> keeps what the pages looked like."""

import os

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from sandbox import roster

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
SCREENSHOTS = os.environ.get("OPS_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, admin_user):
    client = Client()
    client.force_login(admin_user)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    context.set_default_timeout(20000)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    yield context.new_page()
    context.close()


def snap(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def overflow(page, selector):
    return page.evaluate(f"""() => {{ const el = document.querySelector('{selector}');
        return Math.round(el.getBoundingClientRect().right) - document.documentElement.clientWidth; }}""")


def test_the_mapping_table_fits_and_parameters_follow_the_transform(page, live_server, world):
    page.goto(f"{live_server.url}/admin/integrations/scheme/{world.pk}/change/")
    assert overflow(page, ".mapping-rows table") <= 0 and overflow(page, ".value-map-rows table") <= 0
    snap(page, "mapping-scheme-change")
    row = page.locator(".mapping-rows tr.form-row", has=page.locator('input[value="FDATE"]'))
    expect(row.locator('select[name$="params__date__format"]')).to_be_visible()
    row.locator('select[name$="-transform"]').select_option("number")
    expect(row.locator('input[name$="params__number__scale"]')).to_be_visible()
    expect(row.locator('select[name$="params__date__format"]')).to_be_hidden()
    expect(page.locator("#content")).not_to_contain_text("JSON (advanced)")


def test_the_wizard_walks_from_a_blank_scheme_to_a_real_record(page, live_server, world):
    page.goto(f"{live_server.url}/admin/integrations/scheme/new/source/")
    page.fill("input[name=name]", "向导方案")
    page.select_option("select[name=source_connection]", str(world.source_connection.pk))
    page.fill("input[name='source_params__dingtalk.approval__process_code']", roster.EXPENSE_PROCESS_CODE)
    snap(page, "mapping-wizard-source")
    page.click("input[type=submit]")
    page.select_option("select[name=target_connection]", str(world.target_connection.pk))
    expect(page.locator("input[name='target_params__kingdee.save__form_id']")).to_have_value("AP_PAYBILL")
    snap(page, "mapping-wizard-target")
    page.click("input[type=submit]")
    expect(page.locator("table.wizard-rows")).to_contain_text("费用项目")
    assert overflow(page, "table.wizard-rows") <= 0
    snap(page, "mapping-wizard-mapping")
    page.click("input[type=submit]")
    expect(page.locator("table.mapping-preview")).to_contain_text("FPAYBILLENTRY[1].FCOSTID")
    snap(page, "mapping-wizard-preview")


def test_the_kingdee_connection_and_the_run_pages_name_the_data_centre(page, live_server, world):
    from integrations import engine

    kingdee = world.target_connection
    page.goto(f"{live_server.url}/admin/integrations/connection/{kingdee.pk}/change/")
    expect(page.locator("input[name=test_acct_id]")).to_be_visible()
    snap(page, "mapping-connection-kingdee")
    engine.run_scheme(world.pk)
    page.goto(f"{live_server.url}/admin/integrations/syncrun/")
    expect(page.locator("#result_list")).to_contain_text("正式账套")
    snap(page, "mapping-runs")
    page.goto(f"{live_server.url}/admin/integrations/syncrun/dashboard/")
    expect(page.locator("#content")).to_contain_text("正式账套")
    snap(page, "mapping-dashboard")
