"""The database side of a run: leases, claims, reconciliation and the cursor.

Every state change is a targeted UPDATE conditioned on the state it leaves, so two
processes that race for the same run or record cannot both win.
"""

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Count, F, Min, Model, Q
from django.utils import timezone

from integrations import alerts, reasons
from integrations.clients.errors import RemoteError, TransientError
from integrations.models import Scheme, SyncRecord, SyncRun, TargetLock

logger = logging.getLogger("integrations.engine")
Status = SyncRecord.Status
# Re-listing this much before the last window's end catches instances that became visible late.
CURSOR_OVERLAP = timedelta(minutes=5)
RECHECK_LIMIT = timedelta(days=360)


def lease_seconds():
    return settings.SYNC_LEASE_SECONDS


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def new_claim():
    return uuid.uuid4().hex


# ---- runs -------------------------------------------------------------------------------------


def abandon_expired_runs(scheme_id=None):
    """Runs whose lease ran out (their worker died) become abandoned; their records are reconciled later."""
    expired = SyncRun.objects.filter(status=SyncRun.Status.RUNNING, lease_expires_at__lt=timezone.now())
    if scheme_id is not None:
        expired = expired.filter(scheme_id=scheme_id)
    count = expired.update(
        status=SyncRun.Status.ABANDONED,
        finished_at=timezone.now(),
        reasons=[reasons.run_reason("run_abandoned")],
        error=reasons.in_english("run_abandoned", {}),
    )
    if count:
        logger.warning("abandoned %d expired run(s) of scheme %s", count, scheme_id)
    return count


def start_run(scheme, trigger, *, exclusive, since=None, until=None, user_id=None):
    """A new running SyncRun, or None when an exclusive run of the scheme is already running."""
    abandon_expired_runs(scheme.pk)
    run = SyncRun(
        scheme=scheme,
        trigger=trigger,
        exclusive=exclusive,
        window_start=since,
        window_end=until,
        requested_by_id=user_id,
        worker=worker_name(),
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()),
    )
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        return None
    return run


def renew_lease(run):
    """Extend the lease; False when the run is no longer ours (it was abandoned)."""
    return bool(
        SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds())
        )
    )


def store_progress(run):
    """The run's progress, read from the ledger: the records it took on, and how many of those are done."""
    counts = status_counts(run)
    run.total = sum(counts.values())
    run.done = run.total - counts.get(Status.PENDING, 0) - counts.get(Status.WRITING, 0)
    SyncRun.objects.filter(pk=run.pk).update(read_count=run.read_count, total=run.total, done=run.done,
                                             adopted_count=run.adopted_count)
    return counts


def status_counts(run):
    return dict(SyncRecord.objects.filter(run=run).values_list("status").annotate(n=Count("id"))
                .values_list("status", "n"))


class LeaseKeeper:
    """Renews a run's lease from a thread of its own, so that the lease says "this process is alive" even
    while the run's main thread waits on a slow remote call. Should another worker take the run over anyway
    (this process was frozen for longer than the lease), `lost` is set and the run writes nothing more."""

    def __init__(self, run):
        self.run = run
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{run.pk}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _keep(self):
        every = max(0.5, min(10.0, lease_seconds() / 4))
        try:
            while not self._stop.wait(every):
                try:
                    renewed = renew_lease(self.run)
                except Exception:  # noqa: BLE001 (a database hiccup: the next renewal tries again)
                    logger.exception("renewing the lease of run %s failed", self.run.pk)
                    continue
                if not renewed:
                    self.lost.set()
                    return
        finally:
            connections.close_all()


RUN_REASONS_KEPT = 50


def add_reason(run, code, **params):
    """Note why the run stopped or what it could not do: a code and plain parameters (the remote's own message
    verbatim), rendered for each reader later; `error` gets the same in English, for search."""
    entry = reasons.run_reason(code, **params)
    run.reasons = [*(run.reasons or []), entry][:RUN_REASONS_KEPT]
    run.error = "\n".join(filter(None, [run.error, reasons.in_english(code, entry["params"])]))[:10000]


def finish_run(run, *, reason=None):
    """`reason`: a last (code, params) to note, e.g. why the run could not start."""
    if reason is not None:
        add_reason(run, reason[0], **reason[1])
    counts = status_counts(run)
    run.total = sum(counts.values())
    run.done = run.total - counts.get(Status.PENDING, 0) - counts.get(Status.WRITING, 0)
    run.succeeded_count = counts.get(Status.SUCCEEDED, 0)
    run.skipped_count = counts.get(Status.SKIPPED, 0)
    run.failed_count = counts.get(Status.FAILED, 0)
    run.waiting_count = counts.get(Status.WAITING, 0)
    if run.error and not (run.succeeded_count or run.skipped_count or run.read_count):
        run.status = SyncRun.Status.FAILED
    elif run.error or run.failed_count or counts.get(Status.PENDING) or counts.get(Status.WRITING):
        run.status = SyncRun.Status.PARTIAL
    else:
        run.status = SyncRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.lease_expires_at = None
    fields = ["status", "finished_at", "lease_expires_at", "error", "reasons", "succeeded_count", "skipped_count",
              "failed_count", "waiting_count", "adopted_count", "read_count", "total", "done", "stats"]
    updated = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
        **{name: getattr(run, name) for name in fields}
    )
    if not updated:  # abandoned meanwhile: keep the counts, not the status
        fields.remove("status")
        SyncRun.objects.filter(pk=run.pk).update(**{name: getattr(run, name) for name in fields})
        run.refresh_from_db(fields=["status"])
    alerts.run_finished(run)
    return run


def advance_cursor(scheme, since, until):
    """Move the cursor to the window's end, but never past a record of the window still to be written.
    Records waiting for approval do not hold it: each run re-checks them (see `recheck_since`)."""
    oldest = (
        SyncRecord.objects.filter(scheme=scheme, status__in=(Status.PENDING, Status.WRITING), source_time__gte=since)
        .aggregate(oldest=Min("source_time"))["oldest"]
    )
    cursor = max(since, until - CURSOR_OVERLAP)
    if oldest is not None:
        cursor = min(cursor, oldest)
    type(scheme).objects.filter(pk=scheme.pk).update(cursor=cursor)
    scheme.cursor = cursor
    return cursor


def recheck_since(scheme, since):
    """Where the listing must start to see which waiting records are still unfinished; None if nothing waits
    before `since`. DingTalk lists at most 365 days back, so older waiting records are left to events."""
    oldest = SyncRecord.objects.filter(scheme=scheme, status=Status.WAITING).aggregate(oldest=Min("source_time"))
    oldest = oldest["oldest"]
    if oldest is None or oldest >= since:
        return None
    return max(oldest, timezone.now() - RECHECK_LIMIT)


# ---- records ----------------------------------------------------------------------------------


def update_record(record_id, *, when_status=None, when_claim=None, **fields):
    """One targeted UPDATE; returns whether the record was still in the expected state."""
    fields["updated_at"] = timezone.now()
    if any(hasattr(value, "resolve_expression") for value in fields.values()):  # F("attempts") + 1 and the like
        query = SyncRecord.objects.filter(pk=record_id)
        if when_status is not None:
            query = query.filter(status__in=when_status)
        if when_claim is not None:
            query = query.filter(claim=when_claim)
        return bool(query.update(**fields))
    # Plain values (every update of a booking loop): a statement written once per set of columns, the values
    # prepared by their fields as the ORM does. Building the same UPDATE through a QuerySet for every record was
    # four fifths of its cost.
    connection = connections[SyncRecord.objects.db]
    statuses = tuple(when_status) if when_status is not None else None
    columns, sql = update_statement(connection.vendor, tuple(fields), statuses and len(statuses), when_claim is not None)
    params = [prepared(field, value, connection) for field, value in zip(columns, fields.values())]
    params += [record_id, *(statuses or ()), *(() if when_claim is None else (when_claim,))]
    with transaction.mark_for_rollback_on_error(connection.alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount > 0


@lru_cache(maxsize=256)
def update_statement(vendor, names, statuses, claimed):
    """(fields, SQL) of `UPDATE <ledger> SET <names> WHERE id = … [AND status IN (…)] [AND claim = …]`."""
    quote = connections[SyncRecord.objects.db].ops.quote_name
    columns = [SyncRecord._meta.get_field(name) for name in names]
    where = [f"{quote('id')} = %s"]
    if statuses is not None:
        where.append(f"{quote('status')} IN ({', '.join(['%s'] * statuses)})" if statuses else "0 = 1")
    if claimed:
        where.append(f"{quote('claim')} = %s")
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    return columns, f"UPDATE {quote(SyncRecord._meta.db_table)} SET {assignments} WHERE {' AND '.join(where)}"


def prepared(field, value, connection):
    if isinstance(value, Model):  # a foreign key given as the row it points at
        value = value.pk
    return field.get_db_prep_save(value, connection)


def claim_for_writing(run, record_ids):
    """pending → writing for the records nobody else took; returns (claim token, ids claimed)."""
    token = new_claim()
    now = timezone.now()
    SyncRecord.objects.filter(pk__in=record_ids, status=Status.PENDING).update(
        status=Status.WRITING, claim=token, run=run, attempts=F("attempts") + 1, last_attempt_at=now, updated_at=now
    )
    return token, set(SyncRecord.objects.filter(claim=token).values_list("id", flat=True))


def alive():
    """Records whose run is alive (running, its lease not expired)."""
    return Q(run__status=SyncRun.Status.RUNNING, run__lease_expires_at__gte=timezone.now())


def claim_for_reading(run, token, record_ids, statuses):
    """Claim these open records for reading unless another live run reads them; returns the ids claimed.
    Each UPDATE is conditioned on the claim it replaces, so two runs cannot both take a record."""
    free = (SyncRecord.objects.filter(pk__in=record_ids, status__in=statuses)
            .filter(Q(claim="") | Q(run=run) | ~alive()).exclude(claim=token).values_list("id", "claim"))
    by_claim = {}
    for pk, claim in free:
        by_claim.setdefault(claim, []).append(pk)
    for claim, ids in by_claim.items():
        SyncRecord.objects.filter(pk__in=ids, claim=claim, status__in=statuses).update(
            claim=token, run=run, updated_at=timezone.now())
    return set(SyncRecord.objects.filter(pk__in=record_ids, claim=token).values_list("id", flat=True))


def stale_writing(scheme):
    """Records left `writing` by a run that is no longer alive: their outcome in the target is unknown."""
    return SyncRecord.objects.filter(scheme=scheme, status=Status.WRITING).exclude(alive())


def reconcile(run, target, records, *, via, gave_up=None):
    """Ask the target which of these (claimed) records already exist and adopt those bills; the rest
    become pending again. Returns (adopted, released); raises RemoteError if the target cannot be asked.

    `gave_up` is when the client stopped waiting for each record's last write ({id: time}); by default now,
    which is right for the caller that has just seen the write fail."""
    if not records:
        return 0, 0
    # Only a bill is adopted: master data is compared again next time, a message is sent again.
    found = target.find([record.source_key for record in records]) if target.mode == target.BILL else {}
    adopted = released = 0
    now = timezone.now()
    recent = in_flight_recently(records, found, now, gave_up) if target.mode == target.BILL else {}
    for record in records:
        bill = found.get(record.source_key)
        if bill is None and record.pk in recent:
            # A request that timed out may still be working at the remote: releasing it now could write the
            # bill a second time. It stays in flight and is asked about again after the horizon, which counts
            # from when the client gave up (kept in `last_attempt_at`), not from when the write was claimed.
            update_record(record.pk, when_claim=record.claim, reason_code="outcome_unknown", reason_params={},
                          error=reasons.in_english("outcome_unknown", {}), last_attempt_at=recent[record.pk],
                          error_kind=SyncRecord.ErrorKind.TRANSIENT)
            continue
        if bill is not None:
            adopted += update_record(
                record.pk, when_claim=record.claim, status=Status.SUCCEEDED, claim="", target_id=bill.id,
                target_number=bill.number, response=bill.response, error_kind="", reason_code=bill.code,
                reason_params=bill.params,
                error=reasons.in_english(bill.code, bill.params) if bill.code else bill.message,
                booked_via=SyncRecord.Via.RECONCILED if via != SyncRecord.Via.RETRY else via, booked_at=now, run=run,
            )
        else:
            released += update_record(
                record.pk, when_claim=record.claim, status=Status.PENDING, claim="", run=run,
                reason_code="lost_attempt", reason_params={},
                error=reasons.in_english("lost_attempt", {}),
                error_kind=SyncRecord.ErrorKind.TRANSIENT,
            )
    return adopted, released


def drainable(scheme):
    """Whether the scheme has records a drain would take: in flight for a dead run, or pending and free."""
    pending = SyncRecord.objects.filter(scheme=scheme, status=Status.PENDING).filter(Q(claim="") | ~alive())
    return pending.exists() or stale_writing(scheme).exists()


def schemes_to_recover(queued_for=timedelta(seconds=30)):
    """Schemes with records a dead worker left writing, or with events queued longer than `queued_for` whose
    records are still pending and read by no live run (their task was lost with its worker)."""
    from integrations.models import DingTalkEvent

    writing = SyncRecord.objects.filter(status=Status.WRITING).exclude(alive()).values_list("scheme_id", flat=True)
    queued = DingTalkEvent.objects.filter(outcome=DingTalkEvent.Outcome.QUEUED,
                                          received_at__lt=timezone.now() - queued_for)
    pending = SyncRecord.objects.filter(status=Status.PENDING, scheme_id__in=queued.values("scheme_id"),
                                        source_key__in=queued.values("instance_id")).filter(Q(claim="") | ~alive())
    return sorted(set(writing.distinct()) | set(pending.values_list("scheme_id", flat=True).distinct()))


def in_flight_recently(records, found, now, gave_up=None):
    """{id: when the client gave up} for the records not found whose last write may still land: the client
    gave up on it (or may have) less than the outcome horizon ago. The horizon counts from the give-up, never
    from the claim: a BatchSave waits up to its read timeout (120 s, reference §9.2) before the client gives up,
    so a horizon counted from the claim could be over before the client stopped waiting."""
    missing = [record.pk for record in records if record.source_key not in found]
    horizon = now - timedelta(seconds=settings.SYNC_OUTCOME_HORIZON_SECONDS)
    recent = {}
    for pk, attempted in SyncRecord.objects.filter(pk__in=missing).values_list("id", "last_attempt_at"):
        given = gave_up.get(pk) if isinstance(gave_up, dict) else (gave_up or now)
        ended = max(filter(None, [attempted, given]), default=now)
        if ended > horizon:
            recent[pk] = ended
    return recent


def writes_ended_by(ids, now):
    """{id: the latest moment the run that last wrote each record may still have been waiting for its save}.
    A run that wrote a record (its last attempt is not older than the run) may have sent it, or still waited for
    the answer, until it ended: until it finished, or, for a killed worker, until its lease ran out."""
    ended = {}
    rows = SyncRecord.objects.filter(pk__in=ids).values_list(
        "id", "last_attempt_at", "run__started_at", "run__finished_at", "run__lease_expires_at")
    for pk, attempted, started, finished, lease in rows:
        if started is None or (attempted is not None and attempted < started):
            ended[pk] = attempted  # the run only held it in flight: its give-up was recorded before
            continue
        end = max(filter(None, [finished, lease]), default=now)
        ended[pk] = max(filter(None, [attempted, min(end, now)]))
    return ended


def recover_stale(run, scheme, target, *, via):
    """Take over the records of dead runs, then reconcile them in one query per few hundred keys."""
    token = new_claim()
    ids = list(stale_writing(scheme).values_list("id", flat=True))
    if not ids:
        return 0, 0
    gave_up = writes_ended_by(ids, timezone.now())  # before the takeover makes this run theirs
    SyncRecord.objects.filter(pk__in=ids, status=Status.WRITING).update(claim=token, run=run, updated_at=timezone.now())
    records = list(SyncRecord.objects.filter(claim=token).only("id", "source_key", "claim"))
    try:
        return reconcile(run, target, records, via=via, gave_up=gave_up)
    except RemoteError as error:
        logger.warning("reconciliation of %d records failed: %s", len(records), error)
        add_reason(run, "run_unreconciled", count=len(records), message=error.message)
        return 0, 0


# ---- turns on a target form shared by several schemes ---------------------------------------------------
# A run holds the form while it searches for the batch's keys and writes the rest, so two schemes reading the
# same approvals cannot both find nothing and both write. A turn is a lease: a dead worker's turn expires.
TURN_SECONDS = 300
TURN_WAIT = 0.2


def target_form(scheme):
    return str((scheme.target_params or {}).get("form_id") or "")


def target_shared(scheme):
    """True when another scheme writes bills into the same form of the same connection."""
    return Scheme.objects.filter(target_connection_id=scheme.target_connection_id, target_kind=scheme.target_kind,
                                 target_params__form_id=target_form(scheme)).exclude(pk=scheme.pk).exists()


def take_turn(scheme, token, *, wait):
    """Wait for the form (at most `wait` seconds; TransientError after that), then hold it."""
    lock = {"connection_id": scheme.target_connection_id, "form_id": target_form(scheme)}
    try:
        TargetLock.objects.get_or_create(**lock)
    except IntegrityError:  # created by another run at the same moment
        pass
    deadline = time.monotonic() + wait
    while True:
        now = timezone.now()
        free = Q(holder="") | Q(expires_at__lt=now) | Q(holder=token)
        if TargetLock.objects.filter(free, **lock).update(holder=token,
                                                          expires_at=now + timedelta(seconds=TURN_SECONDS)):
            return
        if time.monotonic() > deadline:
            raise TransientError("another scheme is writing into this form; the batch waits for its turn",
                                 system="engine")
        time.sleep(TURN_WAIT)


def end_turn(scheme, token, *, keep_for=0):
    """Give the form back; with `keep_for`, hold it that much longer (a save whose answer was lost may still land,
    and the next scheme's search must see it)."""
    held = TargetLock.objects.filter(connection_id=scheme.target_connection_id, form_id=target_form(scheme),
                                     holder=token)
    if keep_for:
        held.update(expires_at=timezone.now() + timedelta(seconds=keep_for))
    else:
        held.update(holder="", expires_at=None)
