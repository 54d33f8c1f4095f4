"""Deep links: the write-back notice's link opens the bill in Kingdee, logged in as the reader; strangers are
refused."""

import os
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from integrations import engine
from integrations.deeplinks import bill_url
from integrations.models import Scheme, SyncRecord
from sandbox import roster
from sandbox.kingdee.models import FormRecord
from tests.integrations.live import shape_claims
from tests.reports.helpers import messages

SHOTS = os.environ.get("REPORT_SCREENSHOTS")


def booked_with_writeback(world, settings):
    from devtools import demo
    from devtools.sso_demo import setup_demo_sso

    settings.PORTAL_BASE_URL = world["url"]
    setup_demo_sso(world["kingdee"], world["credentials"]["kingdee_sso"], world["dingtalk"])
    shape_claims(approved=1)
    scheme = demo.expense_scheme(world["dingtalk"], world["kingdee"], world["credentials"]["dingtalk"]["process_code"])
    scheme.writeback, scheme.event_trigger = True, False
    scheme.schedule_kind, scheme.start_from = Scheme.ScheduleKind.MANUAL, timezone.now() - timedelta(days=demo.SEED_DAYS + 1)
    scheme.save()
    engine.run_scheme(scheme.pk)
    record = SyncRecord.objects.get(scheme=scheme, status=SyncRecord.Status.SUCCEEDED)
    [notice] = messages(world["url"], channel="work_notice")
    return record, notice


def test_bill_links_name_the_form_and_the_bills_internal_id(settings):
    settings.PORTAL_BASE_URL = "https://portal.example.cn/"

    link = bill_url("AP_PAYBILL", "100234", "dingcorp")

    assert link == "https://portal.example.cn/sso/dingtalk/?form=AP_PAYBILL&pkid=100234&corpId=dingcorp"
    assert bill_url("AP_PAYBILL", "") == bill_url("", "1") == bill_url("AP_PAYBILL", "1 or 1") == ""


def test_the_write_back_notices_link_lands_in_kingdee_as_the_reader_with_the_bill_open(world, settings):
    record, notice = booked_with_writeback(world, settings)
    bill = FormRecord.objects.get(form_id="AP_PAYBILL", number=record.target_number)
    link = next(link for link in notice["links"] if "/sso/dingtalk/" in link)
    assert parse_qs(urlsplit(link).query)["pkid"] == [str(bill.fid)] and record.target_number in notice["text"]
    reader = next(p for p in roster.employees() if p.userid == notice["to"][0])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
        context.add_cookies([{"name": "dd_sandbox_userid", "value": reader.userid, "url": world["url"]}])
        page = context.new_page()
        page.set_default_timeout(20000)
        page.goto(link)
        expect(page.locator("#kd-user")).to_have_attribute("data-username", reader.kingdee_username)
        expect(page.locator("#kd-form")).to_have_attribute("data-formid", "AP_PAYBILL")
        expect(page.locator("#kd-bill")).to_have_text(bill.number)
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "deeplink-landing.png"), full_page=True)

        stranger = roster.employees()[-1]  # left unmapped on purpose
        context.add_cookies([{"name": "dd_sandbox_userid", "value": stranger.userid, "url": world["url"]}])
        page.goto(link)
        expect(page.locator("body")).to_contain_text("身份映射")
        assert "/sandbox/kingdee/" not in page.url
        browser.close()


def test_a_bill_link_with_a_forged_id_or_a_form_not_allowed_is_refused(world, settings, client):
    from devtools.sso_demo import setup_demo_sso

    setup_demo_sso(world["kingdee"], world["credentials"]["kingdee_sso"], world["dingtalk"])

    assert client.get("/sso/dingtalk/", {"form": "AP_PAYBILL", "pkid": "1;drop"}).status_code == 403
    assert client.get("/sso/dingtalk/", {"form": "GL_VOUCHER", "pkid": "100"}).status_code == 403
    assert client.get("/sso/dingtalk/", {"form": "AP_PAYBILL", "pkid": "100"}).status_code == 200
