"""The operations dashboard (charts drawn as SVG on the server) and the live progress of running runs."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from integrations import engine
from integrations.models import SyncRecord, SyncRun, Trigger
from portal.models import Heartbeat
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent
from tests.ops.conftest import unknown_expense

DASHBOARD = reverse("admin:integrations_dashboard")
Status = SyncRecord.Status


def dashboard(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def history(scheme, remote):
    """Three booked claims and two failed ones, from two runs; one more bill that came by a DingTalk event."""
    remote.dingtalk.add(*(claim(f"ok{n}", created=recent(30 - n)) for n in range(3)))
    remote.dingtalk.add(unknown_expense("bad1", 20), unknown_expense("bad2", 19))
    engine.run_scheme(scheme.pk)
    remote.dingtalk.add(claim("event", created=recent(0.05)))
    engine.sync_keys(scheme.pk, ["event"], trigger=Trigger.EVENT)
    return scheme


def test_it_draws_records_per_day_with_their_numbers_and_a_legend_of_totals(finance_client, history):
    text = dashboard(finance_client)
    assert text.count("<svg") >= 4 and "运行概览" in text and history.name in text
    today_bar_total = re.findall(r'<text class="chart-value"[^>]*>(\d+)</text>', text)
    assert "6" in today_bar_total  # 4 booked + 2 failed today, written above the bar
    assert re.search(r'chart-ok"></span>成功 <strong>4</strong>', text)
    assert re.search(r'chart-failed"></span>失败 <strong>2</strong>', text)


def test_it_shows_top_reasons_last_and_next_run_and_bills_by_event_and_polling(finance_client, history):
    text = dashboard(finance_client)
    assert "值映射“费用明细→金蝶费用项目”中没有“团建费”的条目" in text and ">2</td>" in text
    next_run = timezone.localtime(Schedule.objects.get(pk=history.schedule_id).next_run)
    assert next_run.strftime("%m-%d %H:%M") in text
    last = SyncRun.objects.filter(scheme=history).latest("started_at")
    assert f"#{last.pk}" in text
    assert re.search(r"事件 <strong>1</strong> \(25%\)", text) and re.search(r"轮询 <strong>3</strong>", text)
    assert "失败 2 条" in text


def test_it_shows_the_workers_heartbeat(finance_client, history):
    assert "从未运行" in dashboard(finance_client)
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=20))
    text = dashboard(finance_client)
    assert 'class="worker-ok"' in text and "最近心跳：刚刚" in text and "0 分钟" not in text
    Heartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=10))
    text = dashboard(finance_client)
    assert 'class="worker-stale"' in text and re.search("最近心跳：10\\s分钟前", text)


def test_it_draws_the_p95_run_duration_and_throughput_of_each_day(finance_client, history):
    started = timezone.now() - timedelta(days=1)
    SyncRun.objects.bulk_create([SyncRun(scheme=history, trigger="schedule", status="succeeded", exclusive=False,
                                         finished_at=started + timedelta(seconds=seconds), succeeded_count=60)
                                 for seconds in (10, 10, 10, 10, 10, 10, 10, 10, 10, 120)])
    SyncRun.objects.filter(finished_at__isnull=False, succeeded_count=60).update(started_at=started)
    text = dashboard(finance_client)
    assert ">120</text>" in text  # p95 of the day's ten runs, in seconds
    assert ">171</text>" in text  # 600 records in 210 s of run time: 171 a minute


def test_the_dashboard_makes_the_same_number_of_queries_whatever_the_ledger_holds(finance_client, history, remote):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            dashboard(finance_client)
        return len(captured)

    few = queries()
    remote.dingtalk.add(*(claim(f"more{n}", created=recent(60 - n)) for n in range(30)))
    remote.dingtalk.add(*(unknown_expense(f"worse{n}", 70 - n) for n in range(10)))
    engine.run_scheme(history.pk, since=recent(80))
    engine.run_scheme(history.pk, trigger=Trigger.MANUAL)
    assert SyncRecord.objects.count() > 45 and SyncRun.objects.count() >= 4
    assert queries() == few


def test_the_dashboard_is_linked_from_the_admin_index_and_refused_to_people_without_the_view_permission(
        finance_client, client, history):
    assert DASHBOARD in finance_client.get(reverse("admin:index")).content.decode()
    stranger = User.objects.create_user("stranger", password="x", is_staff=True)
    client.force_login(stranger)
    assert client.get(DASHBOARD).status_code == 403


# ---- progress ------------------------------------------------------------------------------------


@pytest.fixture
def running(scheme):
    return SyncRun.objects.create(scheme=scheme, trigger=Trigger.MANUAL, total=40, done=10,
                                  lease_expires_at=timezone.now() + timedelta(minutes=2))


def test_a_running_run_shows_a_live_bar_in_the_run_list_and_on_its_page(finance_client, running):
    listing = finance_client.get(reverse("admin:integrations_syncrun_changelist")).content.decode()
    assert f'data-run="{running.pk}"' in listing and 'data-running="1"' in listing and "progress.js" in listing
    assert "10 / 40" in listing and "width: 25%" in listing
    page = finance_client.get(reverse("admin:integrations_syncrun_change", args=[running.pk])).content.decode()
    assert f'data-run="{running.pk}"' in page and "progress.js" in page


def test_a_runs_page_offers_no_history_button_that_would_open_an_empty_page(finance_client, running):
    page = finance_client.get(reverse("admin:integrations_syncrun_change", args=[running.pk])).content.decode()
    assert reverse("admin:integrations_syncrun_history", args=[running.pk]) not in page and "historylink" not in page


def test_the_progress_endpoint_reports_done_and_known_then_the_end(finance_client, running):
    url = reverse("admin:integrations_syncrun_progress")
    first = finance_client.get(url, {"id": [running.pk, 99999]}).json()["runs"]
    assert first == {str(running.pk): {"status": "running", "running": True, "done": 10, "total": 40,
                                       "percent": 25, "text": "10 / 40",
                                       "counts": {"succeeded": 0, "failed": 0, "skipped": 0}}}
    SyncRun.objects.filter(pk=running.pk).update(status="succeeded", done=40, succeeded_count=40)
    last = finance_client.get(url, {"id": running.pk}).json()["runs"][str(running.pk)]
    assert (last["running"], last["percent"], last["text"]) == (False, 100, "成功 · 40 / 40")


def test_the_progress_endpoint_needs_the_view_permission(client, running):
    client.force_login(User.objects.create_user("stranger", password="x", is_staff=True))
    assert client.get(reverse("admin:integrations_syncrun_progress"), {"id": running.pk}).status_code == 403


def test_top_reasons_name_the_originator_instead_of_their_dingtalk_user_id(finance_client, scheme, remote):
    """Issue 10: reasons name people, on the dashboard as on the review list (the grouped reason is rendered with
    its newest record's originator, here named by the approval's title: the identity map does not know them)."""
    remote.dingtalk.add(claim("stranger", userid="u404", created=recent(2)))
    engine.run_scheme(scheme.pk)
    assert SyncRecord.objects.get(source_key="stranger").status == Status.FAILED
    text = dashboard(finance_client)
    assert "u404" not in text and "钉钉用户 张伟 在身份映射中没有启用的条目" in text
    reasons_filter = finance_client.get(reverse("admin:integrations_reviewrecord_changelist")).content.decode()
    assert "u404" not in reasons_filter and "张伟" in reasons_filter
