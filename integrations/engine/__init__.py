"""The sync engine: the one place where models, remote clients and mapping meet.

Entry points (tasks, admin actions, commands and event handlers call these, nothing else):

- `run_scheme(scheme_id, trigger=…, since=None, until=None, user_id=None)` — one window run holding the
  scheme's lease: reconcile what dead runs left unknown, process the ledger's pending records, list the
  window (the cursor to now, or a backfill range) and book every approved record. Returns the SyncRun,
  or None when another run of the scheme holds it.
- `sync_keys(scheme_id, keys, trigger=Trigger.EVENT)` — book these source keys now.
- `sync_pending(scheme_id)` — book the scheme's pending records that no live run is reading, in one run (events
  arriving together are coalesced this way: each event's task drains what has queued up). None if there are none.
- `sweep()` — the frequent, cheap recovery: runs whose lease expired are abandoned, and the schemes whose records
  a dead worker left in flight (writing, or pending behind an event) get a drain at once.
- `retry_records(record_ids, user_id=None)` — failed records back to pending, then written again from
  their stored source data with the scheme's current mapping (no new source call).
- `mark_handled(record_ids, user, note)` — a person settled these records.
- `resolve_conflicts(record_ids, keep="source"|"target", user, note)` — a person decided conflicts; the records
  are pending again (retry them to write now).
- `preview(scheme, key=None)` — the payload one source record would produce; writes nothing.
"""

import logging

from django.utils import timezone

from integrations import adapters, periods, reasons
from integrations.clients import client_for
from integrations.engine import ledger
from integrations.engine.booking import Booking
from integrations.engine.twoway import TwoWayBooking
from integrations.engine.preview import preview
from integrations.models import Scheme, SyncRecord, SyncRun, Trigger

logger = logging.getLogger("integrations.engine")
Status = SyncRecord.Status

VIA = {
    Trigger.EVENT: SyncRecord.Via.EVENT,
    Trigger.RETRY: SyncRecord.Via.RETRY,
    Trigger.BACKFILL: SyncRecord.Via.BACKFILL,
}

__all__ = ["mark_handled", "preview", "resolve_conflicts", "retry_records", "run_scheme", "sweep", "sync_keys",
           "sync_pending", "SchemeUnavailable"]


RETRIED = (Status.FAILED, Status.PENDING)


class SchemeUnavailable(Exception):
    """The scheme or one of its connections is disabled; `code` and `params` say why (`integrations.reasons`)."""

    def __init__(self, code, **params):
        self.code, self.params = code, params
        super().__init__(reasons.render(code, params))


def build_adapters(scheme):
    for connection in (scheme.source_connection, scheme.target_connection):
        if not connection.enabled:
            raise SchemeUnavailable("connection_disabled", name=connection.name)
        if connection.undecryptable_secrets():  # the key is lost: never run on empty credentials
            raise SchemeUnavailable("lost_key", name=connection.name, model=connection._meta.label_lower,
                                    fields=list(connection.undecryptable_secrets()))
    target = adapters.target_class(scheme.target_kind)(
        scheme.target_params, client_for(scheme.target_connection), scheme.dedupe_field
    )
    source = build_source(scheme)
    target.read_attachment = getattr(source, "read_attachment", None)  # files bound to bills (if both sides can)
    return source, target


def build_source(scheme):
    source = adapters.source_class(scheme.source_kind)(scheme.source_params, client_for(scheme.source_connection))
    source.connection_id = scheme.source_connection_id  # whose organisation the records belong to (identity rows)
    return source


def load_scheme(scheme_id):
    return Scheme.objects.select_related("source_connection", "target_connection").get(pk=scheme_id)


def run_scheme(scheme_id, *, trigger=Trigger.SCHEDULE, since=None, until=None, user_id=None, should_stop=None):
    scheme = load_scheme(scheme_id)
    if trigger == Trigger.SCHEDULE and not scheme.enabled:
        return None
    backfill = since is not None
    if backfill:
        trigger = Trigger.BACKFILL if trigger == Trigger.SCHEDULE else trigger
        until = until or timezone.now()
    else:
        since, until = scheme.cursor or scheme.initial_since(), timezone.now()
    run = ledger.start_run(scheme, trigger, exclusive=True, since=since, until=until, user_id=user_id)
    if run is None:
        logger.info("scheme %s is busy: another run holds it", scheme.pk)
        return None
    via = SyncRecord.Via.BACKFILL if backfill else VIA.get(trigger, SyncRecord.Via.POLLING)

    def work(booking, source, target):
        adopted, _released = ledger.recover_stale(run, scheme, target, via=via)
        run.adopted_count += adopted
        periods.release(scheme)  # records waiting for a closed period try again (booked once it opens)
        recheck = ledger.recheck_since(scheme, since) if source.windowed else None
        booking.execute(window=(since, until, recheck))
        if booking.listing_complete and not booking.interrupted and not backfill and source.windowed:
            ledger.advance_cursor(scheme, since, until)

    return _execute(run, scheme, via, work, should_stop)


def sync_keys(scheme_id, keys, *, trigger=Trigger.EVENT, user_id=None):
    scheme = load_scheme(scheme_id)
    run = ledger.start_run(scheme, trigger, exclusive=False, user_id=user_id)
    return _execute(run, scheme, VIA.get(trigger, SyncRecord.Via.POLLING),
                    lambda booking, source, target: booking.execute(keys=list(keys), record_ids=[]))


def sync_pending(scheme_id, *, trigger=Trigger.EVENT):
    """Reconcile what dead runs left in flight, then book the pending records no live run is reading."""
    scheme = load_scheme(scheme_id)
    if not ledger.drainable(scheme):
        return None
    run = ledger.start_run(scheme, trigger, exclusive=False)

    def work(booking, source, target):
        adopted, _released = ledger.recover_stale(run, scheme, target, via=SyncRecord.Via.RECONCILED)
        run.adopted_count += adopted
        booking.execute(record_ids=None)

    return _execute(run, scheme, VIA.get(trigger, SyncRecord.Via.POLLING), work)


def sweep():
    """Abandon expired runs; return the ids of schemes that need a drain now (a dead worker's records in
    flight, or events queued for over a minute's part with their records still pending)."""
    ledger.abandon_expired_runs()
    return ledger.schemes_to_recover()


def retry_records(record_ids, *, user_id=None):
    """Failed (and pending) records of any schemes are written again; one run per scheme. Returns the runs."""
    runs = []
    by_scheme = {}
    for pk, scheme_id in SyncRecord.objects.filter(pk__in=record_ids, status__in=RETRIED).values_list(
        "id", "scheme_id"
    ):
        by_scheme.setdefault(scheme_id, []).append(pk)
    for scheme_id, ids in by_scheme.items():
        reopened = list(
            SyncRecord.objects.filter(pk__in=ids, status__in=RETRIED).values_list("id", flat=True)
        )
        SyncRecord.objects.filter(pk__in=reopened, status=Status.FAILED).update(
            status=Status.PENDING, updated_at=timezone.now()
        )
        scheme = load_scheme(scheme_id)
        run = ledger.start_run(scheme, Trigger.RETRY, exclusive=False, user_id=user_id)
        runs.append(_execute(run, scheme, SyncRecord.Via.RETRY,
                             lambda booking, source, target, ids=reopened: booking.execute(record_ids=ids)))
    return runs


def mark_handled(record_ids, *, user, note):
    """Settle records by hand (failed, skipped, waiting or pending ones); returns how many."""
    return SyncRecord.objects.filter(
        pk__in=record_ids, status__in=[Status.FAILED, Status.SKIPPED, Status.WAITING, Status.PENDING, Status.PERIOD]
    ).update(
        status=Status.HANDLED, handled_by=user, handled_at=timezone.now(), note=note, updated_at=timezone.now()
    )


def resolve_conflicts(record_ids, *, keep, user, note):
    """A person decided: keep the source's values ("source": they are written over the target's) or the target's
    ("target": the portal stops writing those fields). The records become pending; returns how many."""
    if keep not in ("source", "target"):
        raise ValueError(f"keep must be source or target, not {keep!r}")
    resolved = 0
    for record in SyncRecord.objects.filter(pk__in=record_ids, status=Status.CONFLICT).select_related("scheme"):
        if adapters.TARGETS.get(record.scheme.target_kind) and \
                adapters.target_class(record.scheme.target_kind).mode == adapters.TargetAdapter.TWOWAY:
            resolved += TwoWayBooking.resolve(record, keep, user=user, note=note)
            continue
        fields = (record.reason_params or {}).get("fields") or {}
        synced = dict(record.synced_state or {})
        kept = set(synced.get("kept") or [])
        if keep == "source":
            synced["target"] = {**(synced.get("target") or {}),
                                **{name: values.get("target") for name, values in fields.items()}}
            kept -= set(fields)
        else:
            kept |= set(fields)
        synced["kept"] = sorted(kept)
        resolved += ledger.update_record(
            record.pk, when_status=(Status.CONFLICT,), status=Status.PENDING, synced_state=synced, fingerprint="",
            handled_by=user, handled_at=timezone.now(), note=note)
    return resolved


def _execute(run, scheme, via, work, should_stop=None):
    try:
        source, target = build_adapters(scheme)
    except SchemeUnavailable as error:
        return ledger.finish_run(run, reason=(error.code, error.params))
    try:
        with ledger.LeaseKeeper(run) as lease:
            # The listing gets a client of its own: a page of ids must never hold the parallel-request slot that
            # a detail fetch already has its rate-limit token for (it would go out late, bunched with the next).
            loop = TwoWayBooking if target.mode == adapters.TargetAdapter.TWOWAY else Booking
            booking = loop(run, scheme, source, target, via=via, should_stop=should_stop,
                           lister=build_source(scheme), lease=lease)
            work(booking, source, target)
    except Exception as error:
        logger.exception("run %s of scheme %s crashed", run.pk, scheme.pk)
        ledger.finish_run(run, reason=("unexpected_error", {"error": repr(error)}))
        raise
    run.stats = {**run_stats(booking, source, target), **(getattr(booking, "stats", None) or {})}
    return ledger.finish_run(run)


def run_stats(booking, source, target):
    latencies = sorted(booking.latencies)

    def percentile(share):
        return round(1000 * latencies[min(len(latencies) - 1, int(share * len(latencies)))]) if latencies else None

    def calls(client):
        return dict(getattr(client, "calls", {}) or {})

    listing = calls(booking.lister.client)
    return {
        "latency_ms": {"p50": percentile(0.5), "p95": percentile(0.95), "count": len(latencies)},
        "calls": {"source": {path: n + listing.pop(path, 0) for path, n in calls(source.client).items()} | listing,
                  "target": calls(target.client)},
    }
