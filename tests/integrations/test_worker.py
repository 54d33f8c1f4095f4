"""End to end: the sandbox on the live server, the engine in real `qcluster` processes (issue 4 acceptance)."""

import time

import pytest
import requests
from django.utils import timezone, translation
from django_q.models import Task

from integrations import reasons, tasks
from integrations.models import SyncRecord, SyncRun
from tests.events.processes import cluster as start_cluster
from tests.integrations.live import (
    faultless,
    assert_bill_matches,
    bill_counts,
    bills_by_instance,
    build_world,
    sandbox_faults,
    shape_claims,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url) as url:
        yield url


@pytest.fixture
def clusters():
    started = []

    def start(**options):
        cluster = start_cluster(**options)
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def finished_runs(scheme, count, timeout=180, cluster=None):
    def done():
        runs = list(SyncRun.objects.filter(scheme=scheme).exclude(status=SyncRun.Status.RUNNING).order_by("pk"))
        return runs if len(runs) >= count else None

    try:
        return wait_for(done, timeout=timeout, message=f"{count} finished runs")
    except AssertionError:
        if cluster is not None:
            print(cluster.output()[-5000:])
        raise


def by_key(scheme):
    return {record.source_key: record for record in SyncRecord.objects.filter(scheme=scheme)}


def test_approved_claims_become_exactly_one_bill_each_through_the_worker(base_url, clusters):
    scheme = build_world(base_url)
    shaped = shape_claims(approved=200, refused=6, running=5, cancelled=5, terminated=4)
    cluster = clusters(workers=2)

    tasks.enqueue_run(scheme)
    [run] = finished_runs(scheme, 1, cluster=cluster)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    counts = bill_counts(base_url)
    approved = {instance.process_instance_id: instance for instance in shaped["approved"]}
    assert set(counts) == set(approved) and set(counts.values()) == {1}
    bills = bills_by_instance()
    for key, instance in approved.items():
        assert_bill_matches(bills[key], instance)
    records = by_key(scheme)
    assert all(records[key].status == Status.SUCCEEDED and records[key].target_number == bills[key].number
               for key in approved)
    for outcome, status, words in [("refused", Status.SKIPPED, "拒绝"), ("cancelled", Status.SKIPPED, "取消"),
                                   ("terminated", Status.SKIPPED, "撤销"), ("running", Status.WAITING, "尚未完成")]:
        for instance in shaped[outcome]:
            record = records[instance.process_instance_id]
            with translation.override("zh-hans"):  # the reason as finance reads it
                text = reasons.describe(record)
            assert record.status == status and words in text, (outcome, text)

    tasks.enqueue_run(scheme)
    finished_runs(scheme, 2, cluster=cluster)

    assert bill_counts(base_url) == counts


def test_a_worker_killed_mid_batch_leaves_exactly_one_bill_per_claim_after_restart(base_url, clusters):
    scheme = build_world(base_url, instances=180)
    scheme.batch_size = 20
    scheme.save()
    approved = {instance.process_instance_id for instance in shape_claims(approved=120)["approved"]}
    sandbox_faults(base_url, "kingdee", latency_ms=2500)
    first = clusters(workers=1, lease=6)
    tasks.enqueue_run(scheme)

    wait_for(lambda: SyncRecord.objects.filter(scheme=scheme, status=Status.WRITING).exists(), timeout=60,
             message="a batch in flight")
    requests.delete(f"{base_url}/sandbox/kingdee/_calls", timeout=10)
    # The engine first searches Kingdee for the batch's keys, then sends the BatchSave.
    wait_for(lambda: any("ExecuteBillQuery" in call["service"] for call in requests.get(
        f"{base_url}/sandbox/kingdee/_calls", timeout=10).json()["calls"]), timeout=60, message="the search answered")
    time.sleep(1.0)  # the BatchSave is now at the sandbox, which is sleeping before it saves
    first.kill()
    in_flight = SyncRecord.objects.filter(scheme=scheme, status=Status.WRITING).count()
    dead = SyncRun.objects.get(scheme=scheme)
    assert in_flight and dead.status == SyncRun.Status.RUNNING
    sandbox_faults(base_url, "kingdee")
    wait_for(lambda: SyncRun.objects.get(pk=dead.pk).lease_expires_at < timezone.now(), timeout=30,
             message="the dead run's lease to expire")

    clusters(workers=1, lease=6)
    tasks.enqueue_run(scheme)
    runs = finished_runs(scheme, 2)

    counts = bill_counts(base_url)
    assert set(counts) == approved and set(counts.values()) == {1}
    assert runs[0].status == SyncRun.Status.ABANDONED
    # The batch the killed worker sent was adopted (by the next run or the recovery sweep), not written again.
    assert SyncRecord.objects.filter(scheme=scheme, booked_via=SyncRecord.Via.RECONCILED).exists()
    assert set(SyncRecord.objects.filter(scheme=scheme).values_list("status", flat=True)) == {Status.SUCCEEDED}


def test_two_workers_on_two_machines_running_one_scheme_book_no_duplicates(base_url, clusters):
    scheme = build_world(base_url, instances=150)
    approved = sorted(i.process_instance_id for i in shape_claims(approved=100)["approved"])
    clusters(workers=1)
    clusters(workers=1)

    tasks.enqueue_run(scheme)
    tasks.enqueue_run(scheme)
    tasks.enqueue_keys(scheme, approved)
    tasks.enqueue_keys(scheme, list(reversed(approved)))
    wait_for(lambda: Task.objects.count() >= 4, timeout=180, message="all four tasks done")

    counts = bill_counts(base_url)
    assert set(counts) == set(approved) and set(counts.values()) == {1}
    assert SyncRecord.objects.filter(scheme=scheme, status=Status.SUCCEEDED).count() == 100
