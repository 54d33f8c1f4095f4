"""The dashboard's org card: per org scheme, how many departments and people differed between DingTalk and
Kingdee at the last comparison, when it ran, and a link to those records (in Chinese)."""

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from integrations.market.org import create_org_schemes
from integrations.models import SyncRecord, SyncRun, Trigger
from tests.events.conftest import dingtalk, kingdee  # noqa: F401  (fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401
from tests.ops.test_browser import CHROMIUM_ARGS

Status = SyncRecord.Status
SCREENSHOTS = os.environ.get("ORG_SCREENSHOTS")


def comparison(scheme, minutes_ago, **statuses):
    started = timezone.now() - timedelta(minutes=minutes_ago)
    run = SyncRun.objects.create(scheme=scheme, trigger=Trigger.SCHEDULE, status=SyncRun.Status.SUCCEEDED)
    SyncRun.objects.filter(pk=run.pk).update(started_at=started, finished_at=started + timedelta(seconds=20))
    run.refresh_from_db()
    n = SyncRecord.objects.filter(scheme=scheme).count()
    for status, count in statuses.items():
        for index in range(count):
            record = SyncRecord.objects.create(scheme=scheme, source_key=f"{scheme.pk}-{n}-{status}-{index}",
                                               status=status, run=run if status != Status.CONFLICT else None,
                                               title=f"员工{index}")
            if status == Status.CONFLICT:
                SyncRecord.objects.filter(pk=record.pk).update(updated_at=started + timedelta(seconds=5))
    return run


@pytest.fixture
def org(dingtalk, kingdee):  # noqa: F811
    departments, people = create_org_schemes(source_connection=dingtalk, target_connection=kingdee)
    comparison(people, 40, succeeded=9)  # an older comparison: not the one shown
    last = comparison(people, 5, succeeded=2, failed=1, conflict=1)
    comparison(departments, 6)  # in step
    return departments, people, last


@pytest.mark.django_db
def test_the_card_shows_the_last_comparisons_differences_with_a_link_to_them(it_client, org):
    _departments, people, last = org

    page = it_client.get(reverse("admin:integrations_dashboard")).content.decode()

    card = page[page.index('id="org-drift"'):]
    card = card[:card.index("</section>")]
    assert "组织架构同步：上次比对发现的差异" in card
    assert "4 名员工" in card and f"?run__id__exact={last.pk}" in card
    assert timezone.localtime(last.started_at).strftime("%m-%d %H:%M") in card
    assert "无：一致" in card  # the departments scheme's comparison found nothing
    assert "9 名员工" not in card


@pytest.mark.django_db(transaction=True)
def test_the_card_in_chromium_at_1366(live_server, it_user, org):
    client = Client()
    client.force_login(it_user)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/integrations/syncrun/dashboard/")
        card = page.locator("#org-drift")
        expect(card).to_contain_text("4 名员工")
        assert card.bounding_box()["width"] <= 1366
        if SCREENSHOTS:
            card.scroll_into_view_if_needed()
            page.screenshot(path=f"{SCREENSHOTS}/org-drift-1366.png")
        page.locator(".ops-org-differed").click()
        expect(page.locator("#result_list")).to_be_visible()
        assert page.locator("#result_list tbody tr").count() == 3  # written, failed (the conflict is listed apart)
        context.close()
        browser.close()
