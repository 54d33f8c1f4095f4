"""IT signs the master rules, prints the 对接方案确认书 and approves the first matching's proposals, in Chromium
and in Chinese (screenshots with CUSTOMERS_SCREENSHOTS=<folder>)."""

import os
import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from integrations.customers import create_customer_scheme
from integrations.models import MasterRule, SyncRecord
from tests.events.conftest import dingtalk, kingdee  # noqa: F401  (fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401
from tests.ops.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = os.environ.get("CUSTOMERS_SCREENSHOTS")
ENGLISH = re.compile(r"\b(the|and|master|rule|customer|approve|field|signed|Kingdee|DingTalk)\b")


def shoot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


def no_english(page):
    text = page.locator("#content").inner_text() if page.locator("#content").count() else page.inner_text("body")
    assert not ENGLISH.search(text.replace("BD_Customer", "")), ENGLISH.search(text)


def test_it_signs_rules_prints_the_confirmation_and_approves_proposals(live_server, it_user, dingtalk,  # noqa: F811
                                                                        kingdee, q_sync):  # noqa: F811
    scheme = create_customer_scheme(source_connection=dingtalk, target_connection=kingdee, operator_userid="manager")
    for title, side, data in (("杭州数智零售有限公司", "dingtalk", {"FSOCIALCRECODE": "91330100MA2X000002",
                                                                "FTEL": "0571-88880002"}),
                              ("只在钉钉的客户", "kingdee", {"credit_code": "91330100MA2X000003", "phone": "0571-3"})):
        SyncRecord.objects.create(scheme=scheme, source_key=f"{side}-{title}", status=SyncRecord.Status.WAITING,
                                  title=title, reason_code="awaiting_approval", reason_params={"side": side},
                                  source_data=data, target_number="CUST0002" if side == "dingtalk" else "",
                                  synced_state={"proposal": side, "approved": False})
    client = Client()
    client.force_login(it_user)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
        page = context.new_page()

        page.goto(f"{live_server.url}/customers/{scheme.pk}/rules/")
        expect(page.locator("#master-rules")).to_contain_text("尚未签字")
        no_english(page)
        page.select_option("select[name=master-FTEL]", "kingdee")
        page.fill("#rule-note", "2026-11-29 三方会议")
        page.locator("#rules-form input[type=submit]").click()
        expect(page.locator("#rule-changes")).to_contain_text("以金蝶为准")
        shoot(page, "rules-confirm-1366")
        no_english(page)
        page.locator("#confirm-rules").click()
        expect(page.locator(".messagelist")).to_contain_text("已签字确定")
        expect(page.locator("#rule-FTEL")).to_contain_text("it-admin")
        expect(page.locator("#rule-history")).to_contain_text("三方会议")
        shoot(page, "rules-1366")
        no_english(page)

        page.goto(f"{live_server.url}/admin/integrations/scheme/{scheme.pk}/change/")
        expect(page.locator("#customer-master-rules")).to_contain_text("已签字")
        shoot(page, "scheme-page-1366")

        page.goto(f"{live_server.url}/customers/{scheme.pk}/confirmation/")
        page.emulate_media(media="print")
        expect(page.locator("h1")).to_have_text("对接方案确认书")
        expect(page.locator("body")).to_contain_text("财务（签字、日期）")
        no_english(page)
        shoot(page, "confirmation-print")
        pdf = page.pdf(format="A4")
        assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1  # one printed page
        page.emulate_media(media="screen")

        page.goto(f"{live_server.url}/customers/{scheme.pk}/approvals/")
        expect(page.locator("#proposals")).to_contain_text("只在钉钉的客户")
        no_english(page)
        shoot(page, "approvals-1366")
        page.locator("#approve-all").click()
        expect(page.locator("#no-proposals")).to_be_visible()
        shoot(page, "approvals-done-1366")
        context.close()
        browser.close()
    rule = MasterRule.objects.get(scheme=scheme, field="FTEL")
    assert rule.master == "kingdee" and rule.decided_by == it_user and rule.previous == "dingtalk"
    assert set(SyncRecord.objects.filter(scheme=scheme).values_list("status", flat=True)) == {SyncRecord.Status.PENDING}


def test_finance_sees_the_rules_but_cannot_sign_them(client, finance_user, dingtalk, kingdee):  # noqa: F811
    scheme = create_customer_scheme(source_connection=dingtalk, target_connection=kingdee, operator_userid="manager")
    client.force_login(finance_user)
    assert client.get(f"/customers/{scheme.pk}/rules/").status_code == 403  # no view_scheme either
    assert client.post(f"/customers/{scheme.pk}/rules/", {"master-FTEL": "kingdee", "confirmed": "yes"}).status_code \
        == 403
    assert not MasterRule.objects.exists()
