"""The README's tour in Chromium at 1366×768, as IT and as finance: each page's main table fits without sideways
scrolling, and a Chinese page shows no English (only proper nouns and ids: see ALLOWED).

The data is the demo's: the sandbox company, its scheme and identity map, booked once by the engine against the
sandbox this live server serves. Set UI_SCREENSHOTS to a folder to keep what each page looked like.
"""

import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from playwright.sync_api import sync_playwright

from devtools import demo
from integrations import engine
from integrations.models import DingTalkEvent, ReviewRecord, SyncRecord, Trigger
from portal.roles import FINANCE, IT_ADMIN, sync_roles

pytestmark = pytest.mark.django_db(transaction=True)

VISIBLE = (Path(__file__).parent / "visible.js").read_text()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = os.environ.get("UI_SCREENSHOTS")
# Proper nouns and ids a Chinese page may show: DingTalk's own names (credentials, Stream 模式, a robot's Webhook
# 地址, as DingTalk's Chinese documents call them), file types, cron (Cron as a form label capitalises it),
# the worker command, user names.
ALLOWED = (r"^(AppKey|AppSecret|AgentId|CorpId|userid|unionid|Stream|Webhook|xlsx|csv|json|cron|Cron|qcluster|Excel|"
           r"admin|cashier)$")


def it_pages(scheme, record):
    value_map = scheme.value_maps.first()
    return ["/admin/", "/admin/integrations/scheme/", f"/admin/integrations/scheme/{scheme.pk}/change/",
            f"/admin/integrations/scheme/{scheme.pk}/preview/", "/admin/integrations/scheme/new/source/",
            "/admin/integrations/scheme/from-template/", "/admin/integrations/scheme/import/",
            "/admin/integrations/valuemap/", f"/admin/integrations/valuemap/{value_map.pk}/change/",
            f"/admin/integrations/connection/{scheme.target_connection_id}/change/",
            f"/admin/integrations/connection/{scheme.source_connection_id}/change/",
            "/admin/integrations/reviewrecord/?review=all", f"/admin/integrations/reviewrecord/{record.pk}/change/",
            f"/admin/integrations/scheme/{scheme.pk}/versions/",
            f"/admin/integrations/scheme/{scheme.pk}/versions/1/", "/admin/integrations/syncrun/",
            f"/admin/integrations/syncrun/{record.run_id}/change/", "/admin/integrations/syncrecord/",
            f"/admin/integrations/syncrecord/{record.pk}/change/", "/admin/integrations/reviewrecord/",
            "/admin/integrations/syncrun/dashboard/", "/admin/integrations/dingtalkevent/",
            "/admin/integrations/connection/", "/admin/sandbox_dingtalk/approvalinstance/",
            "/admin/sandbox_kingdee/bill/", "/sandbox/dingtalk/client/", "/admin/sso/identitymap/",
            "/admin/sso/identitymap/coverage/", "/admin/sso/identitymap/import/", "/admin/sso/loginevent/",
            "/admin/portal/portallogin/", "/admin/portal/sensitivefield/", "/admin/password_change/"]


def finance_pages(scheme, record):
    return ["/admin/", "/admin/integrations/reviewrecord/", "/admin/integrations/reviewrecord/?review=all",
            f"/admin/integrations/reviewrecord/{record.pk}/change/", "/admin/integrations/reviewrecord/export/",
            "/admin/integrations/syncrecord/", "/admin/integrations/syncrun/", "/admin/integrations/syncrun/dashboard/",
            f"/admin/integrations/syncrecord/{record.pk}/change/",
            f"/admin/integrations/syncrun/{record.run_id}/change/", "/admin/password_change/", "/sandbox/dingtalk/client/",
            # what finance may not open ends on the Chinese 无权访问 page
            f"/admin/integrations/scheme/{scheme.pk}/change/", f"/admin/integrations/scheme/{scheme.pk}/versions/",
            f"/admin/integrations/scheme/{scheme.pk}/export/", "/admin/integrations/valuemap/",
            f"/admin/integrations/connection/{scheme.target_connection_id}/change/"]


@pytest.fixture
def tour(live_server):
    credentials = demo.seed_sandbox(instances=100)
    dingtalk, _robot, kingdee = demo.sandbox_connections(live_server.url, credentials)
    for connection in (dingtalk, kingdee):  # Kingdee's default 5 calls a second made booking the tour's data 10 s
        connection.rate_limit = 100.0
        connection.save()
    scheme = demo.expense_scheme(dingtalk, kingdee, credentials["dingtalk"]["process_code"])
    demo.seed_identities()
    engine.run_scheme(scheme.pk, trigger=Trigger.MANUAL)
    record = ReviewRecord.objects.filter(status=SyncRecord.Status.FAILED).first()
    assert record is not None, "the demo company has claims that fail"
    booked = SyncRecord.objects.filter(status=SyncRecord.Status.SUCCEEDED).first()
    DingTalkEvent.objects.create(connection=dingtalk, event_id="evt-1", event_type="bpms_instance_change",
                                 change="finish/agree", instance_id=booked.source_key, outcome="booked",
                                 record=booked, run=booked.run, scheme=scheme)
    return scheme, record


def member(role, username):
    sync_roles()
    user = User.objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def logged_in(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    return context


def walk(browser, live_server, user, pages):
    """{page: problems} for every page that overflows or shows English."""
    context = logged_in(browser, live_server, user)
    page, problems = context.new_page(), {}
    for path in pages:
        page.goto(live_server.url + path)
        seen = page.evaluate(VISIBLE, ALLOWED)
        if SCREENSHOTS:
            page.screenshot(path=os.path.join(SCREENSHOTS, user.username + re.sub(r"\W+", "-", path) + ".png"),
                            full_page=True)
        found = [f"English: {seen['english']}"] if seen["english"] else []
        found += [f"two buttons say {label}" for label in seen["sameButtons"]]
        found += [f"drawn twice: #{id_}" for id_ in seen["repeatedIds"]]
        found += [f"{seen['tableOverflow']} px too wide"] if seen["tableOverflow"] > 0 else []
        found += [f"the page scrolls {seen['pageOverflow']} px sideways"] if seen["pageOverflow"] > 0 else []
        if found:
            problems[path] = found
    context.close()
    return problems


def test_it_walks_the_tour_at_1366_without_sideways_scrolling_or_english(browser, live_server, tour):
    problems = walk(browser, live_server, member(IT_ADMIN, "it-admin"), it_pages(*tour))
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)


def test_finance_walks_the_tour_at_1366_without_sideways_scrolling_or_english(browser, live_server, tour):
    problems = walk(browser, live_server, member(FINANCE, "cashier"), finance_pages(*tour))
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)


def test_the_filter_sidebar_folds_away_and_stays_folded_on_the_next_list(browser, live_server, tour):
    context = logged_in(browser, live_server, member(FINANCE, "cashier"))
    page = context.new_page()
    page.goto(live_server.url + "/admin/integrations/reviewrecord/")
    page.click("#filter-toggle")
    assert not page.locator("#changelist-filter").is_visible()
    assert page.locator("#filter-toggle").inner_text() == "显示筛选"
    page.goto(live_server.url + "/admin/integrations/syncrecord/")
    assert not page.locator("#changelist-filter").is_visible()
    page.click("#filter-toggle")
    assert page.locator("#changelist-filter").is_visible()
    context.close()


@pytest.mark.parametrize("path", ["/sso/dingtalk/?corpId=ding-unknown", "/sso/dingtalk/login"])
def test_the_sso_pages_fit_a_phone_and_speak_chinese(browser, live_server, path):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + path)
    seen = page.evaluate(VISIBLE, ALLOWED)
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "phone" + re.sub(r"\W+", "-", path) + ".png"))
    context.close()
    assert (seen["english"], seen["pageOverflow"]) == ([], 0)
