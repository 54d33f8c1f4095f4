"""The operations dashboard's numbers: a handful of queries over the last 30 days whose cost does not grow with
the ledger (records per day come from RecordTally, which triggers keep; open counts and reasons read only the
failed and skipped records through their indexes)."""

from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Func, Max, Min, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from integrations import charts, reasons, review
from integrations.models import Alert, RecordTally, ReportRun, Scheme, SyncRecord, SyncRun
from integrations.models.tallies import HOUR

DAYS = 30
TOP_REASONS = 5
# Tally rows beyond this many since the last compaction are folded into one per bucket before reading.
COMPACT_AFTER = 20000
KEEP_DAYS = DAYS + 5
Status = SyncRecord.Status
Via = SyncRecord.Via
SERIES = ((Status.SUCCEEDED, "chart-ok"), (Status.FAILED, "chart-failed"), (Status.SKIPPED, "chart-skipped"),
          (Status.HANDLED, "chart-handled"))
VIA_CSS = {Via.EVENT: "chart-event", Via.POLLING: "chart-polling", Via.RETRY: "chart-retry",
           Via.BACKFILL: "chart-backfill", Via.RECONCILED: "chart-reconciled"}


@dataclass
class SchemeBoard:
    scheme: Scheme
    records: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # day → status → n
    booked_via: dict = field(default_factory=lambda: defaultdict(int))
    runs: dict = field(default_factory=lambda: defaultdict(list))  # day → [(seconds, records)]
    open_counts: dict = field(default_factory=dict)
    reasons: list = field(default_factory=list)

    def totals(self):
        totals = defaultdict(int)
        for statuses in self.records.values():
            for status, count in statuses.items():
                totals[status] += count
        return totals

    def run_count(self):
        return sum(len(runs) for runs in self.runs.values())

    def charts(self, days):
        records = charts.stacked_bars(gettext("Records per day"), days, [
            charts.Series(Status(status).label, css, [self.records[day][status] for day in days])
            for status, css in SERIES])
        p95 = [percentile([seconds for seconds, _n in self.runs[day]], 0.95) for day in days]
        throughput = [rate(self.runs[day]) for day in days]
        booked = charts.share_bar(gettext("Bills booked by"), [
            (Via(via).label, css, self.booked_via.get(via, 0)) for via, css in VIA_CSS.items()])
        return {
            "records": records,
            "p95": charts.bars(gettext("p95 run duration"), days, p95, css="chart-duration",
                               unit=pgettext("unit of time", "s"),
                               caption=gettext("p95 run duration per day, seconds")),
            "throughput": charts.bars(gettext("Throughput"), days, throughput, css="chart-throughput",
                                      caption=gettext("Records per minute of run time, per day")),
            "booked": booked or charts.empty(gettext("No bill booked in the last 30 days.")),
        }


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rate(runs):
    seconds = sum(seconds for seconds, _n in runs)
    records = sum(n for _seconds, n in runs)
    return round(60 * records / seconds, 1) if seconds > 0 and records else None


def window(today=None):
    """The last 30 local days, oldest first, and the aware moment each one starts."""
    today = today or timezone.localdate()
    days = [today - timedelta(days=DAYS - 1 - offset) for offset in range(DAYS)]
    return days, [timezone.make_aware(datetime.combine(day, time.min)) for day in days]


class Seconds(Func):
    """Seconds from the second timestamp to the first, computed by the database (no datetime per row)."""

    output_field = FloatField()
    arg_joiner = " - "
    template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)",
                           arg_joiner=") - julianday(", **extra)


class Epoch(Func):
    """Seconds since 1970 of a timestamp, computed by the database (no datetime per row)."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)


def schemes_with_last_run():
    last = SyncRun.objects.filter(scheme=OuterRef("pk")).order_by("-started_at")
    return Scheme.objects.select_related("schedule").annotate(
        last_run_id=Subquery(last.values("pk")[:1]),
        last_run_status=Subquery(last.values("status")[:1]),
        last_run_started=Subquery(last.values("started_at")[:1]),
        last_run_done=Subquery(last.values("done")[:1]),
        last_run_total=Subquery(last.values("total")[:1]),
        last_run_data_centre=Subquery(last.values("data_centre")[:1]),
    ).order_by("name")


def build(today=None):
    days, starts = window(today)
    since = starts[0]
    boards = {scheme.pk: SchemeBoard(scheme) for scheme in schemes_with_last_run()}

    for scheme_id, day, status, via, count in tallies(starts):
        board = boards.get(scheme_id)
        if board is None or not count:
            continue
        board.records[days[day]][status] += count
        if status == Status.SUCCEEDED:
            board.booked_via[via] += count

    open_counts = (SyncRecord.objects.filter(status__in=[Status.FAILED, Status.SKIPPED, Status.CONFLICT])
                   .values_list("scheme_id", "status").annotate(n=Count("id")).order_by())
    for scheme_id, status, count in open_counts:
        if scheme_id in boards:
            boards[scheme_id].open_counts[status] = count

    failed = review.sample_groups(SyncRecord.objects.filter(status=Status.FAILED),
                                  ("scheme_id", "error", "reason_code", "reason_params"), 200)
    shown, per_board = [], Counter()
    for group in failed:  # most frequent first: each board keeps its first TOP_REASONS
        per_board[group[0]] += 1
        if group[0] in boards and per_board[group[0]] <= TOP_REASONS:
            shown.append(group)
    names = review.names_of_examples([last for *_group, last in shown])
    for scheme_id, error, code, params, count, last in shown:
        text = (reasons.render(code, params, names.get(last)) if code else "") or error
        boards[scheme_id].reasons.append((text, count, last))

    runs = (SyncRun.objects.filter(started_at__gte=since, finished_at__isnull=False)
            .annotate(started=Epoch("started_at"), seconds=Seconds("finished_at", "started_at"),
                      settled=F("succeeded_count") + F("failed_count") + F("skipped_count"))
            .values_list("scheme_id", "started", "seconds", "settled"))
    edges = [start.timestamp() for start in starts]
    for scheme_id, started, seconds, records in runs.iterator(chunk_size=2000):
        board = boards.get(scheme_id)
        if board is not None:
            board.runs[days[max(0, bisect_right(edges, started) - 1)]].append((seconds, records))
    return days, list(boards.values())


def tallies(starts):
    """[(scheme id, day index, status, booked via, records)] for the days starting at `starts` (the hour a day
    starts in counts for that day: exact for time zones a whole number of hours from UTC)."""
    compact()
    hours = [int(start.timestamp()) // HOUR for start in starts]
    # Summed per hour in SQL and placed in its day here: a CASE of 30 branches costs more to compile than
    # the few hundred rows it saves sending.
    by_day = Counter()
    for scheme_id, hour, status, via, n in (RecordTally.objects.filter(hour__gte=hours[0])
                                            .values_list("scheme_id", "hour", "status", "booked_via")
                                            .annotate(n=Sum("n")).order_by()):
        by_day[scheme_id, bisect_right(hours, hour) - 1, status, via] += n
    return [(*key, n) for key, n in by_day.items()]


def compact(force=False):
    """Fold the tally into one row per bucket once it has grown by COMPACT_AFTER rows: the hours of a past local
    day into the hour that day starts in (the dashboard counts by day), hours older than KEEP_DAYS dropped. Each
    row is taken by exactly one DELETE … RETURNING, so compactions running at once never count a row twice."""
    bounds = RecordTally.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["high"] is None or (not force and bounds["high"] - bounds["low"] < COMPACT_AFTER):
        return
    _days, starts = window()
    today = int(starts[-1].timestamp()) // HOUR
    oldest = today - 24 * KEEP_DAYS
    day_start = {}
    sums = Counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {RecordTally._meta.db_table} WHERE id <= %s "
                       "RETURNING scheme_id, hour, status, booked_via, n", [bounds["high"]])
        for scheme_id, hour, status, via, n in cursor.fetchall():
            if hour < oldest:
                continue
            if hour < today:
                if hour not in day_start:
                    day = timezone.localdate(datetime.fromtimestamp(hour * HOUR, UTC))
                    day_start[hour] = int(timezone.make_aware(datetime.combine(day, time.min)).timestamp()) // HOUR
                hour = day_start[hour]
            sums[scheme_id, hour, status, via] += n
        RecordTally.objects.bulk_create([RecordTally(scheme_id=key[0], hour=key[1], status=key[2], booked_via=key[3],
                                                     n=n) for key, n in sorted(sums.items()) if n], batch_size=2000)


def recent_alerts(limit=5):
    return list(Alert.objects.select_related("scheme", "connection")[:limit])


def recent_report_runs(limit=8):
    """The latest runs of reports and stock alerts, with what they sent (the dashboard's reports panel)."""
    return list(ReportRun.objects.select_related("report")[:limit])


def quota_usages():
    """Each DingTalk app's monthly call quota: used, forecast, level (the card beside the worker's status)."""
    from integrations import quota

    return quota.usages()
