"""IT settles an employee's conflict on the review page in Chromium, in Chinese (screenshots with ORG_SCREENSHOTS)."""

import os

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from integrations.market.org import create_org_schemes
from integrations.models import SyncRecord
from tests.events.conftest import dingtalk, kingdee  # noqa: F401  (fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401
from tests.ops.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = os.environ.get("ORG_SCREENSHOTS")


def test_it_keeps_dingtalks_value_on_the_conflict_page(live_server, it_user, dingtalk, kingdee, q_sync):  # noqa: F811
    _departments, people = create_org_schemes(source_connection=dingtalk, target_connection=kingdee)
    record = SyncRecord.objects.create(
        scheme=people, source_key="u1", status=SyncRecord.Status.CONFLICT, title="林小雨", source_number="XH9001",
        originator="u1", reason_code="conflict", error="Changed in the target since the portal wrote it: FMobile.",
        reason_params={"fields": {"FMobile": {"source": "13700000000", "target": "13900000000",
                                              "written": "13512345678"}}},
        synced_state={"target": {"FName": "林小雨", "FMobile": "13512345678"}})
    client = Client()
    client.force_login(it_user)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for width, height in ((1366, 768),):
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                  "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
            page = context.new_page()
            page.goto(f"{live_server.url}/admin/integrations/reviewrecord/{record.pk}/change/")
            expect(page.locator("#review-conflicts")).to_contain_text("13900000000")
            if SCREENSHOTS:
                page.screenshot(path=f"{SCREENSHOTS}/conflict-{width}.png", full_page=True)
            page.locator("#keep-dingtalk").click()
            expect(page.locator(".messagelist")).to_contain_text("已以钉钉为准")
            if SCREENSHOTS:
                page.screenshot(path=f"{SCREENSHOTS}/conflict-decided-{width}.png", full_page=True)
            page.goto(f"{live_server.url}/admin/integrations/syncrun/dashboard/")
            if SCREENSHOTS:
                page.screenshot(path=f"{SCREENSHOTS}/dashboard-{width}.png", full_page=True)
            context.close()
        browser.close()
    record.refresh_from_db()
    assert record.status != SyncRecord.Status.CONFLICT and record.handled_by == it_user
