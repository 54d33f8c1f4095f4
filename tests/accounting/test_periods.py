"""Closed periods (issue 14 §4): claims Kingdee refuses for a closed AP period wait — not fail — with the period
named; once finance opens the period the worker books them with no person involved; the daily reconciliation
shows no difference, then the claim behind a bill deleted in Kingdee (real qcluster)."""

from decimal import Decimal

import pytest

from integrations import periods, queue, reconciliation
from integrations.models import SyncRecord, SyncRun
from sandbox.kingdee.models import FormRecord
from tests.accounting.helpers import close_period, month_to_close
from tests.events.processes import cluster as start_cluster
from tests.integrations.live import build_world, faultless, shape_claims, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url) as url:
        close_period(url, "AP", "")
        try:
            yield url
        finally:
            close_period(url, "AP", "")


@pytest.fixture
def worker():
    cluster = start_cluster(workers=1)
    yield cluster
    cluster.stop()


def runs_done(scheme, count, cluster):
    def done():
        runs = list(SyncRun.objects.filter(scheme=scheme).exclude(status=SyncRun.Status.RUNNING).order_by("pk"))
        return runs if len(runs) >= count else None

    try:
        return wait_for(done, timeout=180, message=f"{count} finished runs")
    except AssertionError:
        print(cluster.output()[-5000:])
        raise


def month_of(record):
    return record.payload["FDATE"][:7]


def test_closed_ap_period_waits_then_books_itself_and_reconciles(base_url, worker):
    scheme = build_world(base_url, instances=80)
    shaped = shape_claims(approved=40)
    closed = month_to_close(shaped["approved"])
    close_period(base_url, "AP", closed)

    queue.enqueue_run(scheme)
    runs_done(scheme, 1, worker)

    records = list(SyncRecord.objects.filter(scheme=scheme))
    waiting = [r for r in records if r.status == Status.PERIOD]
    assert waiting and not [r for r in records if r.status == Status.FAILED], \
        [r.error for r in records if r.status == Status.FAILED][:3]
    for record in waiting:
        assert month_of(record) <= closed and record.waiting_period == month_of(record)
        assert record.reason_code == "period_closed" and "应付当前期间" in record.error
        assert record.reason_params["period"] == month_of(record)
    assert all(month_of(r) > closed for r in records if r.status == Status.SUCCEEDED)
    summary = periods.waiting_by_period(SyncRecord.objects.filter(scheme=scheme))
    assert sum(row["count"] for row in summary) == len(waiting)
    assert sum(row["amount"] for row in summary) == sum(r.amount for r in waiting)

    close_period(base_url, "AP", "")  # finance opens the period
    queue.enqueue_run(scheme)  # what the scheme's schedule does next; nobody retries anything
    runs_done(scheme, 2, worker)

    assert set(SyncRecord.objects.filter(scheme=scheme).values_list("status", flat=True)) == {Status.SUCCEEDED}
    days = reconciliation.daily(scheme, days=100)
    assert sum(day.approved_count for day in days) == 40
    assert all(day.difference == 0 and not day.claims for day in days)

    gone = SyncRecord.objects.filter(scheme=scheme, pk=waiting[0].pk).get()
    FormRecord.objects.filter(form_id="AP_PAYBILL", fid=int(gone.target_id)).delete()
    days = reconciliation.daily(scheme, days=100)
    [day] = [day for day in days if day.claims]
    [claim] = day.claims
    assert claim.key == gone.source_key and claim.booked is None and day.difference == gone.amount > Decimal(0)
