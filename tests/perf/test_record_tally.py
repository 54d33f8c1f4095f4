"""The dashboard's tally, kept by database triggers, always adds up to the ledger itself, however the ledger
is written (bulk inserts, conditional UPDATEs, saves, deletes), and compacts without changing a count."""

from datetime import UTC, datetime, timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from integrations import dashboard
from integrations.models import RecordTally, SyncRecord
from integrations.models.tallies import HOUR

Status, Via = SyncRecord.Status, SyncRecord.Via


def ledger_counts():
    counts = {}
    for record in SyncRecord.objects.all():
        key = (record.scheme_id, int(record.updated_at.timestamp()) // HOUR, record.status, record.booked_via)
        counts[key] = counts.get(key, 0) + 1
    return counts


def tally_counts():
    rows = RecordTally.objects.values_list("scheme_id", "hour", "status", "booked_via").annotate(n=Sum("n"))
    return {(scheme, hour, status, via): n for scheme, hour, status, via, n in rows if n}


def by_day(counts):
    days = {}
    for (scheme, hour, status, via), n in counts.items():
        key = (scheme, timezone.localdate(datetime.fromtimestamp(hour * HOUR, UTC)), status, via)
        days[key] = days.get(key, 0) + n
    return days


def test_the_tally_follows_every_way_the_ledger_changes(scheme):
    now = timezone.now()
    SyncRecord.objects.bulk_create([SyncRecord(scheme=scheme, source_key=f"k{n}", status=Status.PENDING)
                                    for n in range(30)])
    assert tally_counts() == ledger_counts() == {(scheme.pk, int(now.timestamp()) // HOUR, "pending", ""): 30}

    SyncRecord.objects.filter(source_key__in=["k1", "k2", "k3"]).update(status=Status.SUCCEEDED, booked_via=Via.EVENT)
    SyncRecord.objects.filter(source_key="k4").update(status=Status.FAILED, updated_at=now - timedelta(days=2))
    record = SyncRecord.objects.get(source_key="k5")
    record.status = Status.SKIPPED
    record.save()
    SyncRecord.objects.filter(source_key__in=["k6", "k7"]).delete()
    SyncRecord.objects.filter(source_key="k8").update(attempts=3)  # no bucket changes: nothing to add
    assert tally_counts() == ledger_counts()

    dashboard.compact(force=True)  # a past day's hours become the hour that day starts in
    assert by_day(tally_counts()) == by_day(ledger_counts())
    assert RecordTally.objects.count() == len(by_day(ledger_counts()))


def test_the_dashboard_counts_records_per_day_from_the_tally(scheme, finance_client):
    SyncRecord.objects.bulk_create([SyncRecord(scheme=scheme, source_key=f"k{n}", status=Status.SUCCEEDED,
                                               booked_via=Via.POLLING) for n in range(7)])
    SyncRecord.objects.filter(source_key="k0").update(status=Status.FAILED, booked_via="")
    days, boards = dashboard.build()
    board = next(board for board in boards if board.scheme.pk == scheme.pk)
    assert board.records[days[-1]] == {Status.SUCCEEDED: 6, Status.FAILED: 1}
    assert board.booked_via == {Via.POLLING: 6}
    assert SyncRecord.objects.values("status").annotate(n=Count("id")).count() == 2


def test_a_migration_that_rebuilds_the_ledger_table_does_not_stop_the_tally(scheme):
    from django.db import connection

    from integrations import tally_triggers

    if connection.vendor != "sqlite":
        return  # PostgreSQL keeps triggers through ALTER TABLE
    SyncRecord.objects.bulk_create([SyncRecord(scheme=scheme, source_key=f"k{n}") for n in range(3)])
    with connection.cursor() as cursor:  # what SQLite's table rebuild for an AlterField leaves behind
        cursor.execute("DROP TRIGGER integrations_recordtally_insert")
    SyncRecord.objects.create(scheme=scheme, source_key="uncounted")

    assert tally_triggers.restore() is True
    SyncRecord.objects.create(scheme=scheme, source_key="counted again")
    assert tally_counts() == ledger_counts() and tally_triggers.restore() is False
