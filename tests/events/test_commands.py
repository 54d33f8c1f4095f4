"""demo_setup wires the event path; dingtalk_stream checks its connections (bench_events: tests/perf)."""

import os

import pytest
from django.core.management import CommandError, call_command

from integrations.models import Connection, Scheme
from sandbox.dingtalk.models import App


def test_demo_setup_sends_the_sandbox_events_to_the_connections_callback_url_and_schemes_book_on_them(db):
    call_command("demo_setup", base_url="http://127.0.0.1:8000", stdout=open(os.devnull, "w"))

    dingtalk = Connection.objects.get(kind=Connection.Kind.DINGTALK)
    app = App.objects.get(app_key=dingtalk.app_key)
    assert (app.push_mode, app.callback_url) == ("http", f"http://127.0.0.1:8000/dingtalk/callback/{dingtalk.pk}/")
    schemes = Scheme.objects.filter(source_connection=dingtalk)
    assert all(scheme.event_trigger and scheme.enabled for scheme in schemes)
    intervals = {scheme.source_kind: scheme.interval_minutes for scheme in schemes}  # the net
    assert intervals == {"dingtalk.approval": 30, "dingtalk.contacts": 10} and len(schemes) == 3

    call_command("demo_setup", base_url="http://127.0.0.1:8000", events="stream", stdout=open(os.devnull, "w"))
    assert App.objects.get(pk=app.pk).push_mode == "stream"


def test_dingtalk_stream_refuses_a_connection_it_cannot_use(dingtalk, kingdee):
    with pytest.raises(CommandError, match=str(kingdee.pk)):
        call_command("dingtalk_stream", connection=[kingdee.pk])
    dingtalk.enabled = False
    dingtalk.save()
    with pytest.raises(CommandError, match="No enabled DingTalk connection"):
        call_command("dingtalk_stream")


def test_bench_faults_counts_kingdee_s_injected_item_errors_as_refused_then_booked_not_failed(scheme):
    """The sandbox's injected item error reads as a closed period: the engine parks the record (status period,
    the period kept) and the next scheduled run books it; bench_faults counts those apart from failures."""
    from devtools.management.commands.bench_faults import failed_with_reason, refused_by_kingdee
    from integrations import periods
    from integrations.models import SyncRecord
    from sandbox.kingdee.bills import INJECTED_ERROR

    assert periods.is_period_refusal(INJECTED_ERROR)
    Status = SyncRecord.Status
    rows = {"booked-after-refusal": (Status.SUCCEEDED, "2026-11", ""), "booked": (Status.SUCCEEDED, "", ""),
            "still-waiting": (Status.PERIOD, "2026-11", "期间已结账"), "failed": (Status.FAILED, "", "金蝶拒绝")}
    for key, (status, period, error) in rows.items():
        SyncRecord.objects.create(scheme=scheme, source_key=key, status=status, waiting_period=period, error=error)

    assert refused_by_kingdee(set(rows)) == (1, 1)
    assert failed_with_reason(set(rows)) == {"failed"}
