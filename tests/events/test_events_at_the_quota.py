"""Events arriving together are booked together, and a dead worker's events and records are recovered by the
sweep once its lease expires, without waiting for the scheme's next run."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_q.brokers import get_broker

from integrations import engine, events, queue, tasks
from integrations.clients.errors import TransientError
from integrations.engine import booking, ledger
from integrations.models import DingTalkEvent, SyncRecord, SyncRun, Trigger
from tests.events.pushes import approval_event
from tests.integrations.fakes import claim

Outcome = DingTalkEvent.Outcome
Status = SyncRecord.Status
pytestmark = pytest.mark.django_db(transaction=True)


def deliver(connection, body):
    return events.receive(connection, events.from_callback(body))


def test_events_arriving_together_ask_for_one_drain_which_books_them_in_one_run_and_settles_each(
        scheme, remote, monkeypatch):
    monkeypatch.setattr(booking, "EVENT_BATCH_SECONDS", 3600)  # however slow the machine, one batch
    keys = [f"i-{n}" for n in range(8)]
    remote.dingtalk.add(*(claim(key) for key in keys))
    for key in keys:
        deliver(scheme.source_connection, approval_event(key))
    assert get_broker().queue_size() == 1  # one drain waits for the scheme, not one task per event

    tasks.sync_pending_records(scheme.pk)

    [run] = SyncRun.objects.all()
    assert run.succeeded_count == len(keys) and run.trigger == Trigger.EVENT
    assert remote.kingdee.calls["BatchSave"] == 1 and remote.dingtalk.calls["get"] == len(keys)
    assert set(DingTalkEvent.objects.values_list("outcome", flat=True)) == {Outcome.BOOKED}
    assert all(event.record.source_key == event.instance_id for event in DingTalkEvent.objects.all())


def test_a_drain_writes_what_is_ready_without_waiting_for_a_full_batch(scheme, remote, monkeypatch):
    monkeypatch.setattr(booking, "EVENT_BATCH_SECONDS", 0)  # every record is "ready long enough"
    keys = [f"i-{n}" for n in range(3)]
    remote.dingtalk.add(*(claim(key) for key in keys))
    for key in keys:
        deliver(scheme.source_connection, approval_event(key))

    tasks.sync_pending_records(scheme.pk)

    # The first goes alone (the writer is free); the others go as the writer frees up, or together at the end.
    assert remote.kingdee.calls["BatchSave"] >= 2 and SyncRun.objects.count() == 1
    assert [len(remote.kingdee.bills_for(key)) for key in keys] == [1, 1, 1]


def test_an_event_after_the_drain_started_asks_for_a_drain_of_its_own(scheme, remote):
    remote.dingtalk.add(claim("i-1"), claim("i-2"))
    deliver(scheme.source_connection, approval_event("i-1"))
    broker = get_broker()
    broker.purge_queue()  # the worker took the drain off the queue
    queue.drain_started(scheme.pk)

    deliver(scheme.source_connection, approval_event("i-2"))

    assert broker.queue_size() == 1


def test_a_lost_drain_holds_later_events_up_only_until_its_marker_expires(scheme, remote):
    remote.dingtalk.add(claim("i-1"), claim("i-2"))
    deliver(scheme.source_connection, approval_event("i-1"))
    broker = get_broker()
    broker.purge_queue()  # lost with its worker before it started
    cache.delete(queue.drain_marker(scheme.pk))  # what DRAIN_MARKER_SECONDS later looks like

    deliver(scheme.source_connection, approval_event("i-2"))

    assert broker.queue_size() == 1
    tasks.sync_pending_records(scheme.pk)
    assert set(SyncRecord.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}
    assert set(DingTalkEvent.objects.values_list("outcome", flat=True)) == {Outcome.BOOKED}


def test_an_event_whose_read_failed_for_a_passing_reason_stays_queued_for_the_sweep(scheme, remote, q_sync):
    remote.dingtalk.add(claim("i-1"))
    remote.dingtalk.fail_get["i-1"] = TransientError("gateway timeout", system="dingtalk")

    deliver(scheme.source_connection, approval_event("i-1"))  # its drain ran at once (q_sync)

    assert SyncRecord.objects.get().status == Status.PENDING
    assert DingTalkEvent.objects.get().outcome == Outcome.QUEUED
    del remote.dingtalk.fail_get["i-1"]
    DingTalkEvent.objects.update(received_at=timezone.now() - timedelta(minutes=1))
    assert tasks.sweep() == "1 scheme(s) to recover"  # its drain books it
    assert SyncRecord.objects.get().status == Status.SUCCEEDED
    assert DingTalkEvent.objects.get().outcome == Outcome.BOOKED


def test_a_record_another_live_run_is_reading_is_left_to_it(scheme, remote):
    remote.dingtalk.add(claim("i-1"))
    deliver(scheme.source_connection, approval_event("i-1"))
    other = ledger.start_run(scheme, Trigger.EVENT, exclusive=False)
    record = SyncRecord.objects.get()
    assert ledger.claim_for_reading(other, "other", [record.pk], [Status.PENDING]) == {record.pk}

    assert engine.sync_pending(scheme.pk) is None  # nothing free to read: no run at all

    assert remote.dingtalk.calls["get"] == 0
    assert DingTalkEvent.objects.get().outcome == Outcome.QUEUED


def dead_worker(scheme, *, writing=(), pending=()):
    """What a worker killed mid-run leaves: its run's lease expired, records claimed, events queued."""
    run = ledger.start_run(scheme, Trigger.EVENT, exclusive=False)
    SyncRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    for key in writing:
        SyncRecord.objects.create(scheme=scheme, source_key=key, status=Status.WRITING, claim="dead", run=run,
                                  source_data=claim(key), payload={"FTHIRDBILLNO": key})
    for key in pending:
        SyncRecord.objects.create(scheme=scheme, source_key=key, status=Status.PENDING, claim="dead-read", run=run)
        DingTalkEvent.objects.filter(instance_id=key).update(received_at=timezone.now() - timedelta(minutes=2))
    return run


def test_the_sweep_recovers_a_dead_workers_records_and_events_once_its_lease_expired(scheme, remote, q_sync):
    remote.dingtalk.add(claim("saved"), claim("lost"), claim("queued"))
    get_broker().purge_queue()
    for key in ("saved", "lost", "queued"):
        DingTalkEvent.objects.create(connection=scheme.source_connection, channel="callback", event_id=key,
                                     event_type="bpms_instance_change", instance_id=key, scheme=scheme,
                                     outcome=Outcome.QUEUED)
    dead = dead_worker(scheme, writing=["saved", "lost"], pending=["queued"])
    remote.kingdee.bills.append({"id": "9", "number": "FKD00000009", "model": {"FTHIRDBILLNO": "saved"}})

    assert tasks.sweep() == "1 scheme(s) to recover"

    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.ABANDONED
    assert [len(remote.kingdee.bills_for(key)) for key in ("saved", "lost", "queued")] == [1, 1, 1]
    assert set(SyncRecord.objects.values_list("status", flat=True)) == {Status.SUCCEEDED}
    assert SyncRecord.objects.get(source_key="saved").target_number == "FKD00000009"
    assert not DingTalkEvent.objects.filter(outcome=Outcome.QUEUED).exists()


def test_the_sweep_leaves_live_work_alone(scheme, remote):
    remote.dingtalk.add(claim("i-1"))
    deliver(scheme.source_connection, approval_event("i-1"))  # queued a moment ago: its task is on its way

    assert engine.sweep() == []
