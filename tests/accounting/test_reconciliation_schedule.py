"""The daily reconciliation as a scheduled job per scheme: the scheme's setting creates, moves and removes its
django-q2 schedule; the job sends nothing on a day without difference, and the claims behind a difference to the
alert robot (read back through the sandbox's `_messages` door)."""

import time

import pytest
import requests
from django_q.models import Schedule

from integrations import engine, reconciliation, tasks
from integrations.models import Connection, SyncRecord
from sandbox.kingdee.models import FormRecord
from tests.integrations.live import build_world, faultless

pytestmark = pytest.mark.django_db(transaction=True)


def robot_messages(base_url, since_ms):
    answer = requests.get(f"{base_url}/sandbox/dingtalk/_messages", params={"since": since_ms}, timeout=10).json()
    return [message for message in answer["messages"] if message["channel"] == "robot"]


def test_the_scheme_setting_creates_moves_and_removes_the_daily_schedule(live_server):
    with faultless(live_server.url) as base_url:
        scheme = build_world(base_url, instances=5)
    name = scheme.reconciliation_schedule_name
    assert not Schedule.objects.filter(name=name).exists()  # off by default

    scheme.reconcile_daily, scheme.reconcile_hour = True, 8
    scheme.save()
    assert not Schedule.objects.filter(name=name).exists()  # no alert robot to send to yet
    scheme.alert_connection = Connection.objects.get(kind=Connection.Kind.DINGTALK_ROBOT)
    scheme.save()
    schedule = Schedule.objects.get(name=name)
    assert (schedule.func, schedule.args, schedule.schedule_type, schedule.cron) == (
        "integrations.tasks.reconcile_scheme", repr(scheme.pk), Schedule.CRON, "0 8 * * *")
    assert schedule.next_run.astimezone(reconciliation.BEIJING).hour == 8

    scheme.reconcile_hour = 18
    scheme.save()
    assert Schedule.objects.get(name=name).cron == "0 18 * * *"
    scheme.enabled = False
    scheme.save()
    assert not Schedule.objects.filter(name=name).exists()
    scheme.enabled = True
    scheme.save()
    scheme.delete()
    assert not Schedule.objects.filter(name=name).exists()


def test_the_daily_job_is_quiet_without_a_difference_and_sends_the_claims_behind_one(live_server):
    with faultless(live_server.url) as base_url:
        scheme = build_world(base_url, instances=30)
        scheme.alert_connection = Connection.objects.get(kind=Connection.Kind.DINGTALK_ROBOT)
        scheme.reconcile_daily = True
        scheme.save()
        run = engine.run_scheme(scheme.pk)
        assert run.failed_count == 0 and run.succeeded_count > 0
        started = int(time.time() * 1000) - 1

        assert tasks.reconcile_scheme(scheme.pk) == "no difference"
        assert robot_messages(base_url, started) == []

        booked = SyncRecord.objects.filter(scheme=scheme, status=SyncRecord.Status.SUCCEEDED).order_by("-source_time")
        gone = next(record for record in booked if record.amount)
        FormRecord.objects.filter(form_id="AP_PAYBILL", fid=int(gone.target_id)).delete()

        assert tasks.reconcile_scheme(scheme.pk) == "1 days with a difference sent"
        [message] = robot_messages(base_url, started)
        assert message["title"] == "每日对账" and scheme.name in message["text"]
        assert gone.title in message["text"] and f"{gone.amount:,.2f}" in message["text"]
        assert "金蝶中没有" in message["text"]  # the claim is named as missing in Kingdee
