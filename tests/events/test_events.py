"""Handling events: kept once per event id, approved claims synced from a fresh read, the rest recorded."""

from datetime import datetime

import pytest
from django_q.brokers import get_broker

from integrations import engine, events, tasks
from integrations.models import DingTalkEvent, SyncRecord, SyncRun, Trigger
from tests.events.pushes import approval_event
from tests.integrations.fakes import BEIJING, claim

Outcome = DingTalkEvent.Outcome
Status = SyncRecord.Status
pytestmark = pytest.mark.django_db(transaction=True)


def deliver(connection, body):
    return events.receive(connection, events.from_callback(body))


def test_an_approved_claim_event_books_its_bill_by_event(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1"))

    event = deliver(scheme.source_connection, approval_event("i-1"))

    event.refresh_from_db()
    record = SyncRecord.objects.get(scheme=scheme, source_key="i-1")
    assert record.status == Status.SUCCEEDED and record.booked_via == SyncRecord.Via.EVENT
    assert (event.outcome, event.record, event.run.trigger) == (Outcome.BOOKED, record, Trigger.EVENT)
    assert len(remote.kingdee.bills_for("i-1")) == 1
    assert remote.dingtalk.calls["list"] == 0 and remote.dingtalk.calls["get"] == 1  # no listing for one instance


def test_a_repeated_event_id_is_kept_as_a_duplicate_and_syncs_nothing(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1"))
    first = deliver(scheme.source_connection, approval_event("i-1", event_id="same"))

    again = deliver(scheme.source_connection, approval_event("i-1", event_id="same"))

    assert again.outcome == Outcome.DUPLICATE and again.duplicate_of == first
    assert SyncRun.objects.count() == 1 and remote.dingtalk.calls["get"] == 1
    assert len(remote.kingdee.bills_for("i-1")) == 1


def test_a_second_event_for_a_booked_instance_books_nothing_more(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1"))
    deliver(scheme.source_connection, approval_event("i-1"))

    later = deliver(scheme.source_connection, approval_event("i-1"))

    later.refresh_from_db()
    assert later.outcome == Outcome.ALREADY_BOOKED and "FKD" in later.reason
    assert len(remote.kingdee.bills_for("i-1")) == 1
    assert remote.dingtalk.calls["get"] == 1  # a settled record is not even read again


def test_an_event_that_arrives_before_the_approval_is_visible_books_nothing_until_the_next(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1", status="RUNNING", result=""))

    early = deliver(scheme.source_connection, approval_event("i-1"))

    early.refresh_from_db()
    assert early.outcome == Outcome.NOT_BOOKED and SyncRecord.objects.get().status == Status.WAITING
    assert remote.kingdee.bills == []
    remote.dingtalk.add(claim("i-1"))
    late = deliver(scheme.source_connection, approval_event("i-1"))
    late.refresh_from_db()
    assert late.outcome == Outcome.BOOKED and len(remote.kingdee.bills_for("i-1")) == 1


def test_an_agree_event_for_a_refused_instance_books_nothing(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1", result="refuse"))

    event = deliver(scheme.source_connection, approval_event("i-1"))

    event.refresh_from_db()
    assert event.outcome == Outcome.NOT_BOOKED and event.reason
    assert SyncRecord.objects.get().status == Status.SKIPPED and remote.kingdee.bills == []


@pytest.mark.parametrize("body", [
    approval_event("i-1", kind="start", result=""),
    approval_event("i-1", kind="finish", result="refuse"),
    approval_event("i-1", kind="terminate", result=""),
    approval_event("i-1", event_type="bpms_task_change"),
    {"EventType": "user_add_org", "eventId": "u-1", "userId": ["u9"]},
])
def test_other_events_are_kept_and_ignored(scheme, remote, q_sync, body):
    event = deliver(scheme.source_connection, body)

    assert event.outcome == Outcome.IGNORED and event.reason
    assert not SyncRecord.objects.exists() and not SyncRun.objects.exists()


def test_an_event_for_a_process_code_no_scheme_books_on_events_is_ignored(scheme, remote, q_sync):
    scheme.event_trigger = False
    scheme.save()

    first = deliver(scheme.source_connection, approval_event("i-1"))
    other = deliver(scheme.source_connection, approval_event("i-2", process_code="PROC-OTHER"))

    assert first.outcome == other.outcome == Outcome.IGNORED
    assert "PROC-OTHER" in other.reason and not SyncRecord.objects.exists()


def test_an_event_without_an_event_id_is_deduplicated_by_its_content(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1"))
    body = approval_event("i-1")
    del body["eventId"]

    first, again = deliver(scheme.source_connection, body), deliver(scheme.source_connection, dict(body))

    assert first.event_id.startswith("sha1:") and again.outcome == Outcome.DUPLICATE


@pytest.mark.parametrize("task", ["drain", "one task per event, as earlier versions queued them"])
def test_a_scheme_switched_off_before_the_worker_runs_is_left_alone(scheme, remote, task):
    remote.dingtalk.add(claim("i-1"))
    event = deliver(scheme.source_connection, approval_event("i-1"))
    scheme.enabled = False
    scheme.save()

    if task == "drain":
        tasks.sync_pending_records(scheme.pk)
    else:
        tasks.sync_event(event.pk, scheme.pk)

    event.refresh_from_db()
    assert event.outcome == Outcome.IGNORED and remote.kingdee.bills == []


def test_a_lost_task_leaves_a_pending_ledger_row_that_the_polling_net_books(scheme, remote):
    remote.dingtalk.add(claim("i-1"))
    deliver(scheme.source_connection, approval_event("i-1"))
    broker = get_broker()
    assert broker.queue_size() == 1
    broker.purge_queue()  # the broker lost it (or the worker died holding it)

    engine.run_scheme(scheme.pk, trigger=Trigger.SCHEDULE)

    record = SyncRecord.objects.get()
    assert record.status == Status.SUCCEEDED and record.booked_via == SyncRecord.Via.POLLING
    assert len(remote.kingdee.bills_for("i-1")) == 1
    assert events.booked_by_channel(scheme) == {SyncRecord.Via.POLLING: 1}


def test_bills_are_counted_by_how_they_were_found(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1"), claim("i-2"))
    scheme.start_from = datetime(2026, 4, 1, tzinfo=BEIJING)
    scheme.save()
    deliver(scheme.source_connection, approval_event("i-1"))
    engine.run_scheme(scheme.pk, trigger=Trigger.SCHEDULE)

    assert events.booked_by_channel() == {SyncRecord.Via.EVENT: 1, SyncRecord.Via.POLLING: 1}
