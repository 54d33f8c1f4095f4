"""Playwright driving Debian's Chromium through the daily paths of finance and IT in the admin.

The retry goes through django-q in its sync mode (the `q_sync` fixture): the live server's request enqueues
the task with async_task after the commit and django-q runs it at once, in that process, where the fake
DingTalk and Kingdee of `remote` answer. A real qcluster is exercised by tests/integrations/test_worker.py.
"""

import os

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from integrations import engine
from integrations.models import FieldMapping, SchemeVersion, SyncRecord, ValueMap, ValueMapEntry
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent
from tests.ops.conftest import unknown_expense

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = os.environ.get("OPS_SCREENSHOTS")  # a folder: save what the pages looked like


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_as(browser, live_server):
    """A browser page logged in as `user` (the session made by Django's test client, handed to Chromium)."""
    contexts = []

    def login(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(20000)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[
            settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield login
    for context in contexts:
        context.close()


def snap(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def failures(scheme, remote):
    """Kingdee refuses one claim (its expense type maps to an item Kingdee lacks), another cannot be mapped."""
    items = ValueMap.objects.get(scheme=scheme, name="费用明细→金蝶费用项目")
    ValueMapEntry.objects.create(value_map=items, source_value="礼品费", target_value="FYXM99")
    remote.dingtalk.add(claim("booked", created=recent(7)), claim("gift", created=recent(6), items=(("礼品费", "88"),)),
                        unknown_expense("team", hours_ago=5))
    engine.run_scheme(scheme.pk)
    return scheme


def test_finance_filters_opens_retries_after_it_fixes_the_value_map_and_marks_another_handled(
        open_as, live_server, failures, finance_user, it_user, remote, q_sync):
    finance = open_as(finance_user)
    finance.goto(f"{live_server.url}/admin/")
    finance.click("#ops-shortcuts >> text=待复核记录")
    finance.click("#changelist-filter >> text=目标系统拒绝")
    expect(finance.locator("#result_list")).to_contain_text("张伟提交的费用报销 gift")
    expect(finance.locator("#result_list")).not_to_contain_text("张伟提交的费用报销 team")
    expect(finance.locator("#result_list")).to_contain_text("在基础资料中不存在")
    snap(finance, "review-list")
    finance.click("#result_list >> text=张伟提交的费用报销 gift")
    expect(finance.locator(".review-data")).to_contain_text("FYXM99")
    snap(finance, "review-record")

    it = open_as(it_user)
    gift = ValueMapEntry.objects.get(source_value="礼品费")
    it.goto(f"{live_server.url}/admin/integrations/valuemap/{gift.value_map_id}/change/")
    it.fill('input[value="FYXM99"]', "FYXM01_SYS")
    it.click('input[name="_save"]')
    expect(it.locator(".messagelist")).to_contain_text("成功")

    finance.click("#review-retry")
    expect(finance.locator(".review-booked")).to_contain_text("已在金蝶生成单据")
    record = SyncRecord.objects.get(source_key="gift")
    assert record.status == SyncRecord.Status.SUCCEEDED and record.target_number
    expect(finance.locator(".review-booked")).to_contain_text(record.target_number)
    expect(finance.locator(".review-audit")).to_contain_text("cashier")
    assert remote.kingdee.bills_for("gift")[0]["model"]["FPAYBILLENTRY"][0]["FCOSTID"] == {"FNumber": "FYXM01_SYS"}

    finance.goto(f"{live_server.url}/admin/integrations/reviewrecord/?review=failed")
    finance.click("#result_list >> text=张伟提交的费用报销 team")
    finance.click("#review-handle")
    finance.fill("textarea[name=note]", "团建费已由行政线下报销")
    finance.click("input[type=submit]")
    expect(finance.locator(".messagelist")).to_contain_text("已标记为已处理")
    team = SyncRecord.objects.get(source_key="team")
    assert (team.status, team.handled_by, team.note) == ("handled", finance_user, "团建费已由行政线下报销")


def test_it_restores_an_earlier_mapping_version(open_as, live_server, failures, it_user):
    it = open_as(it_user)
    it.goto(f"{live_server.url}/admin/integrations/scheme/{failures.pk}/change/")
    source = it.locator('input[name$="-target"][value="FREMARK"]').get_attribute("name").replace("-target", "-source")
    before = FieldMapping.objects.get(scheme=failures, target="FREMARK").source
    it.fill(f'input[name="{source}"]', "title")
    it.click('input[name="_save"]')
    expect(it.locator(".messagelist")).to_contain_text("成功")
    assert FieldMapping.objects.get(scheme=failures, target="FREMARK").source == "title"
    changed = failures.versions.first()
    assert changed.created_by == it_user

    it.goto(f"{live_server.url}/admin/integrations/scheme/{failures.pk}/change/")
    it.click("text=版本历史")
    expect(it.locator("#scheme-versions")).to_contain_text("字段映射 FREMARK")
    it.click(f"#version-{changed.number - 1} >> .version-open")
    expect(it.locator("#restore-changes")).to_contain_text("FREMARK")
    snap(it, "version")
    it.click("#restore-version")
    expect(it.locator(".messagelist")).to_contain_text(f"已恢复为版本 {changed.number - 1} 的内容")
    assert FieldMapping.objects.get(scheme=failures, target="FREMARK").source == before
    restored = failures.versions.first()
    assert (restored.action, restored.restored_from) == (SchemeVersion.Action.RESTORED, changed.number - 1)
    expect(it.locator(f"#version-{restored.number}")).to_contain_text(f"恢复 v{changed.number - 1}")


def test_it_watches_the_dashboard_with_its_charts(open_as, live_server, failures, it_user):
    it = open_as(it_user)
    it.goto(f"{live_server.url}/admin/integrations/syncrun/dashboard/")
    expect(it.locator(f"#scheme-{failures.pk} svg").first).to_be_visible()
    expect(it.locator(f"#scheme-{failures.pk} .ops-reasons")).to_contain_text("团建费")
    snap(it, "dashboard")


def test_run_now_on_the_scheme_page_starts_a_run_in_the_worker(open_as, live_server, failures, it_user, remote,
                                                                q_sync):
    remote.dingtalk.add(claim("fresh", created=recent(0.01)))
    it = open_as(it_user)
    it.goto(f"{live_server.url}/admin/integrations/scheme/{failures.pk}/change/")
    it.click("button[form=run-now-form]")
    expect(it.locator(".messagelist")).to_contain_text("将很快由后台任务运行")
    assert SyncRecord.objects.get(source_key="fresh").status == SyncRecord.Status.SUCCEEDED
