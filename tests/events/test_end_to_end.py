"""End to end: claims approved in the sandbox, events pushed (HTTP callback or Stream), real `qcluster`
processes booking the bills (issue 7 acceptance)."""

import time

import pytest
from django.db.models import Count
from django.utils import timezone
from django_q.brokers import get_broker

from integrations import tasks
from integrations.models import DingTalkEvent, SyncRecord, SyncRun
from sandbox.dingtalk.models import PushedEvent, StreamGateway
from tests.events.processes import ManageProcess, cluster
from tests.events.sandbox_world import create_claims, decide, events_world, instance, pushed, set_push
from tests.integrations.live import faultless, assert_bill_matches, bill_counts, bills_by_instance, sandbox_faults, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
Outcome = DingTalkEvent.Outcome
Status = SyncRecord.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url, event_duplicate_rate=0) as url:
        yield url


@pytest.fixture
def processes():
    started = []

    def start(process):
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        if process.process.poll() is None or not process.log.closed:
            process.stop()


def approve_all(base_url, claims, pause=0.05):
    for instance_id in claims:
        decide(base_url, instance_id)
        time.sleep(pause)


# Waits are bounds, not expectations: CI runs the SQLite and PostgreSQL suites side by side on two cores, where
# fifty claims through a sandbox, a live server and two worker processes can take minutes.
def booked(claims, timeout=300, watch=()):
    def done():
        count = SyncRecord.objects.filter(source_key__in=claims, status=Status.SUCCEEDED).count()
        return count == len(claims)

    try:
        wait_for(done, timeout=timeout, message=f"{len(claims)} bills booked")
    except AssertionError:
        for process in watch:
            print(process.output()[-4000:])
        print(ledger_state(claims))
        raise


def ledger_state(claims):
    """What the ledger and the events say about claims not booked: the first thing to read when a wait ends."""
    records = SyncRecord.objects.filter(source_key__in=claims).exclude(status=Status.SUCCEEDED)
    lines = [f"{record.source_key} {record.status} claim={record.claim!r} run={record.run_id} "
             f"code={record.reason_code} {record.error[:200]!r}" for record in records]
    lines += [f"not in the ledger: {sorted(set(claims) - set(SyncRecord.objects.filter(source_key__in=claims).values_list('source_key', flat=True)))}"]
    events = DingTalkEvent.objects.filter(instance_id__in=claims).values_list("outcome").annotate(n=Count("id"))
    lines += [f"events by outcome: {dict(events)}",
              f"runs: {list(SyncRun.objects.values_list('pk', 'trigger', 'status', 'error'))}"]
    return "\n".join(lines)


def assert_one_bill_each_by_event(base_url, claims, channel):
    counts = bill_counts(base_url)
    assert {key: counts[key] for key in claims} == dict.fromkeys(claims, 1)
    records = SyncRecord.objects.filter(source_key__in=claims)
    assert set(records.values_list("booked_via", flat=True)) == {SyncRecord.Via.EVENT}
    assert not SyncRun.objects.exclude(trigger="event").exists()  # nothing was polled
    bills = bills_by_instance()
    for key in claims[:5]:
        assert_bill_matches(bills[key], instance(key))
    finish = DingTalkEvent.objects.filter(instance_id__in=claims, event_type="bpms_instance_change",
                                          change="finish/agree").exclude(outcome=Outcome.DUPLICATE)
    assert set(finish.values_list("channel", flat=True)) == {channel}
    by_instance = finish.values("instance_id").annotate(n=Count("id"))
    assert {row["instance_id"]: row["n"] for row in by_instance} == dict.fromkeys(claims, 1)


def redeliver_in_reverse(base_url, claims):
    """Every finish event of these claims, once more, newest first."""
    finish = [event.event_id for key in claims for event in pushed(key, event_type="bpms_instance_change")
              if event.summary == "finish/agree"]
    set_push(base_url, redeliver=list(reversed(finish)))
    return finish


def test_fifty_claims_approved_in_the_sandbox_become_fifty_bills_each_booked_from_its_event(base_url, processes):
    events_world(base_url)
    sandbox_faults(base_url, "dingtalk", event_duplicate_rate=0.2)
    claims = create_claims(base_url, 50)
    worker = processes(cluster(workers=2))

    approve_all(base_url, claims)
    booked(claims, watch=[worker])

    assert_one_bill_each_by_event(base_url, claims, DingTalkEvent.Channel.CALLBACK)
    duplicates = DingTalkEvent.objects.filter(outcome=Outcome.DUPLICATE).count()
    assert duplicates == sum(event.deliveries - 1 for event in PushedEvent.objects.all()) > 0
    # Old events once more, in reverse order: kept as duplicates, nothing booked twice.
    sent_again = redeliver_in_reverse(base_url, claims)
    wait_for(lambda: DingTalkEvent.objects.filter(outcome=Outcome.DUPLICATE).count() >= duplicates + len(sent_again),
             timeout=120, message="the redeliveries")
    time.sleep(1)
    assert bill_counts(base_url) == {**bill_counts(base_url), **dict.fromkeys(claims, 1)}
    assert_one_bill_each_by_event(base_url, claims, DingTalkEvent.Channel.CALLBACK)


def test_fifty_claims_reach_the_official_stream_client_through_the_sandbox_gateway(base_url, processes):
    scheme = events_world(base_url, mode="stream")
    sandbox_faults(base_url, "dingtalk", event_duplicate_rate=0.2, stream_ping_seconds=0.5,
                   stream_rotate_seconds=4, stream_ack_timeout=3)
    claims = create_claims(base_url, 50)
    gateway = processes(ManageProcess("sandbox_stream", "--port", "0", name="sandbox-stream"))
    wait_for(StreamGateway.objects.exists, timeout=120, message="the gateway")
    client = processes(ManageProcess("dingtalk_stream", "--connection", str(scheme.source_connection.pk),
                                     name="dingtalk-stream"))
    worker = processes(cluster(workers=2))

    approve_all(base_url, claims, pause=0.1)
    booked(claims, watch=[worker, client, gateway])

    assert_one_bill_each_by_event(base_url, claims, DingTalkEvent.Channel.STREAM)
    wait_for(lambda: not PushedEvent.objects.exclude(status=PushedEvent.Status.DELIVERED).exists(), timeout=120,
             message="every frame acked")
    gateway_row = StreamGateway.objects.get()
    assert gateway_row.sessions >= 2 and gateway_row.pongs >= 1  # rotated connections, pings answered
    sent_again = redeliver_in_reverse(base_url, claims)
    wait_for(lambda: not PushedEvent.objects.exclude(status=PushedEvent.Status.DELIVERED).exists(), timeout=120,
             message="the redeliveries acked")
    assert len(sent_again) == 50
    time.sleep(1)
    assert_one_bill_each_by_event(base_url, claims, DingTalkEvent.Channel.STREAM)
    assert client.stop() == 0 and "Stream stopped" in client.output()
    assert gateway.stop() == 0


def test_events_that_arrive_while_the_worker_is_down_are_booked_after_it_restarts(base_url, processes):
    events_world(base_url)
    claims = create_claims(base_url, 10)

    approve_all(base_url, claims, pause=0)
    wait_for(lambda: DingTalkEvent.objects.filter(outcome=Outcome.QUEUED).count() == 10, timeout=120,
             message="ten queued events")
    assert get_broker().queue_size() >= 1  # a drain of the scheme waits for the worker
    assert not SyncRecord.objects.filter(status=Status.SUCCEEDED).exists()
    worker = processes(cluster(workers=1))

    booked(claims, watch=[worker])
    assert_one_bill_each_by_event(base_url, claims, DingTalkEvent.Channel.CALLBACK)


def test_a_worker_killed_while_booking_from_events_loses_nothing_the_polling_net_books_the_rest(
        base_url, processes):
    scheme = events_world(base_url)
    claims = create_claims(base_url, 8)
    sandbox_faults(base_url, "kingdee", latency_ms=2500)
    first = processes(cluster(workers=1, lease=6))

    approve_all(base_url, claims, pause=0)
    wait_for(lambda: SyncRecord.objects.filter(source_key__in=claims, status=Status.WRITING).exists(), timeout=60,
             message="a bill being written")
    time.sleep(1.0)  # the BatchSave is at the sandbox, which sleeps before saving
    first.kill()
    assert SyncRecord.objects.filter(source_key__in=claims).count() == len(claims)  # all noted at arrival
    sandbox_faults(base_url, "kingdee")
    wait_for(lambda: not SyncRun.objects.filter(status=SyncRun.Status.RUNNING,
                                                lease_expires_at__gte=timezone.now()).exists(),
             timeout=30, message="the dead run's lease to expire")
    get_broker().purge_queue()  # the dead worker's queue is gone with it (a broker restart, say)

    processes(cluster(workers=1, lease=6))
    tasks.enqueue_run(scheme)  # the scheduled run: the safety net
    booked(claims)

    counts = bill_counts(base_url)
    assert {key: counts[key] for key in claims} == dict.fromkeys(claims, 1)
    via = set(SyncRecord.objects.filter(source_key__in=claims).values_list("booked_via", flat=True))
    assert via <= {SyncRecord.Via.EVENT, SyncRecord.Via.POLLING, SyncRecord.Via.RECONCILED}
    assert via & {SyncRecord.Via.POLLING, SyncRecord.Via.RECONCILED}
