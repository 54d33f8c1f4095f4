"""Phone-sized: a salesperson opens the lookup in (the sandbox's) DingTalk, is logged in without a password,
searches, and sees stock by warehouse."""

import os

from playwright.sync_api import expect, sync_playwright

from sandbox.kingdee.models import FormRecord

SHOTS = os.environ.get("MOBILE_SCREENSHOTS")
PHONE = {"width": 390, "height": 844}


def test_the_lookup_inside_dingtalk_logs_in_without_a_password_and_searches_on_a_phone(lookup):
    person, base = lookup["shanghai"], lookup["url"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
        context.add_cookies([{"name": "dd_sandbox_userid", "value": person.userid, "url": base}])
        page = context.new_page()
        page.set_default_timeout(20000)
        page.goto(f"{base}/m/inventory/?corpId={lookup['credentials']['dingtalk']['corp_id']}")
        expect(page.get_by_placeholder("物料编码、名称或规格型号")).to_be_visible()
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "lookup-home.png"))

        page.get_by_placeholder("物料编码、名称或规格型号").fill("网关")
        page.get_by_role("button", name="搜索").click()

        expect(page.locator("section.material h2")).to_contain_text(["智能网关 X1"])
        expect(page.locator("body")).to_contain_text("上海总仓")
        expect(page.locator("body")).not_to_contain_text("杭州分仓")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "lookup-results.png"), full_page=True)

        page.get_by_placeholder("物料编码、名称或规格型号").fill("找不到的东西")
        page.get_by_role("button", name="搜索").click()
        expect(page.locator("body")).to_contain_text("没有与“找不到的东西”匹配的物料")
        browser.close()
    assert FormRecord.objects.filter(form_id="STK_Inventory").exists()


def test_the_sandbox_dingtalk_client_offers_the_lookup_on_its_workbench(lookup, client):
    page = client.get("/sandbox/dingtalk/client/").content.decode()

    assert "/m/inventory/?corpId=$CORPID$" in page
