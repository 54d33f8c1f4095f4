"""The booking loop: one run's records, batch by batch — list keys, read, decide, map, write, settle.

    for batch in batches of the records that are ready to write:
        write the batch, settle each record in the ledger

where "ready" means: listed (or pending in the ledger), read from the source, judged by the source's
verdict and mapped. Every ledger update happens in the run's own thread, in this order. Concurrency only
overlaps remote calls (`integrations.engine.overlap`): the listing runs ahead in a thread of its own, detail
fetches overlap up to the connection's parallel-request setting, and a batch is written while the next one
is read; the client's slots and rate limiter bound every call.
"""

import hashlib
import json
import logging
import threading
import time
from collections import deque
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice

from django.conf import settings
from django.db import reset_queries, transaction
from django.db.models import F
from django.utils import timezone

from integrations import deeplinks, mapping, periods, reasons
from integrations.adapters import Change, Listed, TargetAdapter, Verdict
from integrations.clients.errors import BusinessError, RemoteError, TransientError
from integrations.engine import ledger
from integrations.engine.overlap import POLL, Pool, ahead
from integrations.models import SyncRecord

logger = logging.getLogger("integrations.engine")
Status = SyncRecord.Status
OPEN = (Status.PENDING, Status.WAITING)
# Master data is compared again whenever it is listed (unchanged records cost nothing: see `fingerprint`).
RETAKEN = (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED)
REMOVED = "removed"  # the fingerprint of a record disabled because it is gone at the source
BILL, MASTER, MESSAGE = TargetAdapter.BILL, TargetAdapter.MASTER, TargetAdapter.MESSAGE
RENEW_EVERY = 2.0  # seconds between progress updates
CHUNK = 500  # listed keys looked up in the ledger at once
READS_AHEAD = 4  # detail fetches in flight per parallel request the connection allows
WRITES_AHEAD = 2  # batches handed to the writer(s), beyond their number, before the oldest one's outcome is awaited
TARGET_REQUESTS_PER_WRITER = 4  # a writer's batch holds up to this many of the target's parallel requests
EVENT_BATCH_SECONDS = 0.5


class Halted(Exception):
    """A batch queued behind a write the target refused outright; it was not sent."""


@dataclass
class Item:
    record_id: int
    key: str
    data: dict | None = None
    started: float = field(default_factory=time.monotonic)
    payload: dict | None = None
    fields: dict | None = None  # the ledger's columns from a fresh read (None: stored data, judged before)
    listed: bool = False  # the listing carried the data: judge it as a fresh read
    removed: bool = False  # gone at the source: the target disables it
    # Master data: the ledger's state when the run took the record.
    status: str = ""
    fingerprint: str = ""
    synced: dict | None = None
    written: dict | None = None  # the payload written last (a removal finds the record by it)
    change: object = None  # the target's plan for it


def reason(code, params=None, message=""):
    """The ledger's columns for a reason: its code and parameters, and the remote's own words (or the reason in
    English) as `error`, for search and for readers that do not know codes."""
    params = params or {}
    return {"reason_code": code, "reason_params": params, "error": message or reasons.in_english(code, params)}


NO_REASON = {"reason_code": "", "reason_params": {}, "error": "", "error_kind": ""}


def fingerprint(payload):
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def identity_lookup(scheme=None):
    """The identity map of the scheme's DingTalk organisation (its DingTalk connection, source or target)."""
    from integrations.identity import kingdee_identity

    connections = (scheme.source_connection, scheme.target_connection) if scheme is not None else ()
    organisation = next((c for c in connections if c is not None and c.kind == "dingtalk"), None)
    return lru_cache(maxsize=None)(lambda userid: kingdee_identity(userid, organisation))


def batched(items, size, max_age=None, idle=lambda: True):
    """Lists of at most `size` items; with `max_age`, a batch also goes once its first item has waited that many
    seconds and `idle()` says the writer has nothing in hand (checked as each item comes): a busy writer lets the
    batch grow instead of holding the reading up behind small writes."""
    items = iter(items)
    if max_age is None:
        while batch := list(islice(items, size)):
            yield batch
        return
    batch, since = [], 0.0
    for item in items:
        since = since if batch else time.monotonic()
        batch.append(item)
        if len(batch) >= size or (time.monotonic() - since >= max_age and idle()):
            yield batch
            batch = []
    if batch:
        yield batch


class Booking:
    def __init__(self, run, scheme, source, target, *, via, should_stop=None, lister=None, lease=None):
        self.run, self.scheme, self.source, self.target, self.via = run, scheme, source, target, via
        self.lister = lister or source
        self.lease = lease
        self.should_stop = should_stop or (lambda: False)
        self.rows = scheme.rows()
        self.lookups = mapping.Lookups(value_maps=scheme.value_map_dicts(), identity=identity_lookup(scheme))
        self.concurrency = max(1, scheme.source_connection.max_concurrency)
        # Bills are written by one writer at the target's default of 4 parallel requests; a user who allows the
        # target more gets writers in proportion (a batch's search, Save and follow-ups share them). Batches
        # hold disjoint keys, each claimed and searched on its own, so they can go side by side. Master data
        # keeps one writer: it goes in dependency order and waits for each group.
        target_requests = getattr(scheme.target_connection, "max_concurrency", None) or 1
        self.writers = max(1, target_requests // TARGET_REQUESTS_PER_WRITER) if target.mode == BILL else 1
        self.mode = target.mode
        self.shared_target = target.takes_turns and ledger.target_shared(scheme)
        self.open = OPEN + RETAKEN if self.mode == MASTER else OPEN
        self.blocked = set()  # master data: keys that failed or wait in this run (their dependants wait too)
        self.seen, self.unfinished = set(), set()
        self.jobs = {}  # remote calls in flight: future → what records their outcome in the ledger
        self.writing = deque()  # the batches handed to the writer, oldest first
        self.halted = threading.Event()
        self.claim = ledger.new_claim()  # this run's claim on the records it reads
        self.stopping = self.interrupted = False
        self.writes_allowed = True
        self.listing_complete = False
        self.latencies = []
        self.last_tick = time.monotonic()

    # ---- the loop ---------------------------------------------------------------------------

    def execute(self, *, window=None, keys=None, record_ids=None):
        """Process the ledger's pending records (all, or `record_ids`), then `keys`, then a listed window."""
        with Pool(self.concurrency, "read") as self.readers, Pool(self.writers, "write") as self.writer:
            try:
                records = self.read(self.to_read(window, keys, record_ids))
                ready = (item for item in records if self.decide(item))
                # Records an event named are written within EVENT_BATCH_SECONDS of being ready when the writer is
                # free: at DingTalk's 20 reads a second, a batch of 50 would hold the first claim back 2.5 s.
                max_age = EVENT_BATCH_SECONDS if self.via == SyncRecord.Via.EVENT else None
                for batch in batched(ready, self.scheme.batch_size, max_age, self.writer_idle):
                    self.write(batch)
            finally:
                self.finish_jobs()
                self.run.read_count = len(self.seen)

    def writer_idle(self):
        return all(future.done() for future in self.writing)

    def to_read(self, window, keys, record_ids):
        """Records to read, as the ledger and the listing name them."""
        yield from self.pending_in_ledger(record_ids)
        if keys:
            yield from self.take([Listed(str(key)) for key in keys])
        if window:
            since, until, recheck_since = window
            try:
                for listed in ahead(self.lister.list(since, until, recheck_since), chunk=CHUNK, idle=self.tick):
                    yield from self.take(listed)
                    if self.stopping:
                        return
            except RemoteError as error:
                return self.stop("listing_failed", message=error.message)
            self.listing_complete = True
            yield from self.finished_waiting(min(since, recheck_since) if recheck_since else since)

    def pending_in_ledger(self, record_ids=None):
        pending = SyncRecord.objects.filter(scheme=self.scheme, status=Status.PENDING)
        if record_ids is not None:
            pending = pending.filter(pk__in=record_ids)
        items = [self.item(row, data=row["source_data"]) for row in pending.values(*self.columns("source_data"))]
        self.seen.update(item.key for item in items)
        return self.adopt_for_this_run(items)

    def columns(self, *more):
        master = ("fingerprint", "synced_state", "payload") if self.mode == MASTER else ()
        return ("id", "source_key", "status", *master, *more)

    def item(self, row, **values):
        return Item(row["id"], row["source_key"], status=row["status"], fingerprint=row.get("fingerprint") or "",
                    synced=row.get("synced_state"), written=row.get("payload"), **values)

    def take(self, listed):
        """Listed keys new to the ledger get a row before anything else happens; only keys the ledger has not
        settled are read (a running instance seen by the listing waits without a detail call). Master data is
        taken again whenever it is listed."""
        self.unfinished.update(entry.key for entry in listed if entry.finished is False)
        unique = dict((entry.key, entry) for entry in listed)
        listed = [entry for entry in unique.values() if entry.key not in self.seen]
        if not listed:
            return []
        self.seen.update(entry.key for entry in listed)
        records = SyncRecord.objects.filter(scheme=self.scheme, source_key__in=[entry.key for entry in listed])
        known = set(records.values_list("source_key", flat=True))
        waiting = reason("not_approved_yet", {"status": "RUNNING"})
        SyncRecord.objects.bulk_create([
            SyncRecord(scheme=self.scheme, source_key=entry.key, run=self.run, source_time=entry.bound,
                       status=Status.WAITING, **waiting) if entry.finished is False else
            SyncRecord(scheme=self.scheme, source_key=entry.key, run=self.run, source_time=entry.bound)
            for entry in listed if entry.key not in known and not entry.removed
        ], ignore_conflicts=True)
        rows = {row["source_key"]: row for row in records.values(*self.columns())}
        items = [self.item(rows[entry.key], data=entry.data, listed=entry.data is not None, removed=entry.removed)
                 for entry in listed if entry.key in rows and self.to_take(rows[entry.key]["status"], entry)]
        return self.adopt_for_this_run(items)

    def to_take(self, status, entry):
        if status == Status.WAITING:
            return entry.finished is not False
        return status in self.open

    def finished_waiting(self, floor):
        """Waiting records the listing no longer reports as unfinished have finished: read them again."""
        waiting = SyncRecord.objects.filter(scheme=self.scheme, status=Status.WAITING, source_time__gte=floor)
        items = [self.item(row) for row in waiting.values(*self.columns())
                 if row["source_key"] not in self.seen and row["source_key"] not in self.unfinished]
        self.seen.update(item.key for item in items)
        return self.adopt_for_this_run(items)

    def adopt_for_this_run(self, items):
        """The records the run takes on are claimed for reading and marked as its own (its progress is read
        from the ledger); a record another live run is reading is left to it, so nothing is fetched twice."""
        if not items:
            return items
        ids = [item.record_id for item in items]
        mine = set()
        for start in range(0, len(ids), CHUNK):
            mine |= ledger.claim_for_reading(self.run, self.claim, ids[start:start + CHUNK], OPEN)
        return [item for item in items if item.record_id in mine or item.status not in OPEN]

    # ---- read and decide ----------------------------------------------------------------------

    def read(self, items):
        """The records with their source data, in order; detail fetches overlap."""
        in_flight = deque()
        for item in items:
            if self.stopping:
                break
            future = None if item.data is not None or item.removed else self.readers.submit(self.fetch, item)
            in_flight.append((item, future))
            while in_flight and (len(in_flight) > READS_AHEAD * self.concurrency or in_flight[0][1] is None
                                 or in_flight[0][1].done()):
                yield self.fetched(*in_flight.popleft())
        while in_flight:
            yield self.fetched(*in_flight.popleft())

    def fetch(self, item):  # in a reader thread: remote calls only
        item.started = time.monotonic()
        return self.source.fetch(item.key)

    def fetched(self, item, future):
        if future is None:
            if item.listed:
                self.store_summary(item)
            return item
        try:
            item.data = self.result(future)
        except RemoteError as error:
            self.fetch_failed(item, error)
            return None
        self.store_summary(item)
        return item

    def store_summary(self, item):
        summary = self.source.summary(item.data)
        item.fields = {"source_data": item.data, "title": summary["title"], "source_number": summary["number"],
                       "originator": summary["originator"], "amount": summary["amount"]}
        if summary["time"] is not None:
            item.fields["source_time"] = summary["time"]

    def fetch_failed(self, item, error):
        if isinstance(error, BusinessError):
            return self.settle(item, Status.FAILED, when_status=OPEN, run=self.run,
                               error_kind=SyncRecord.ErrorKind.SOURCE,
                               **reason("source_unreadable", {"message": error.message}, error.message))
        ledger.update_record(item.record_id, when_status=(Status.PENDING,), run=self.run,
                             error_kind=SyncRecord.ErrorKind.TRANSIENT,
                             **reason("transient", {"message": error.message}, error.message))
        if not isinstance(error, TransientError):  # quota, credentials: every further call would fail too
            self.stop("reading_failed", message=error.message)

    def decide(self, item):
        """Judge and map one record; True when it is ready to write (stored pending, with its payload)."""
        if item is None:
            return False
        fields = item.fields or {}
        if item.removed:
            verdict = Verdict(Verdict.REMOVE)
        else:
            verdict = self.source.verdict(item.data) if item.fields is not None else Verdict(Verdict.WRITE)
        if verdict.action == Verdict.REMOVE:
            item.removed = True  # gone when fetched (an event after the change), not only when listed so
            return self.decide_removal(item, fields)
        if verdict.action != Verdict.WRITE:
            status, kind = {
                Verdict.WAIT: (Status.WAITING, ""),
                Verdict.SKIP: (Status.SKIPPED, ""),
                Verdict.PERSON: (Status.FAILED, SyncRecord.ErrorKind.RULE),
            }[verdict.action]
            self.settle(item, status, when_status=self.open, error_kind=kind, run=self.run,
                        **reason(verdict.code, verdict.params, verdict.reason), **fields)
            return False
        result = mapping.build_payload(self.rows, item.data, self.lookups)
        if not result.ok:
            english = "\n".join(cell.render_error() for cell in result.errors)
            self.settle(item, Status.FAILED, when_status=self.open, error_kind=SyncRecord.ErrorKind.MAPPING,
                        payload=result.payload, run=self.run,
                        **reason("mapping", reasons.mapping_params(result), english), **fields)
            return False
        item.payload = self.target.with_dedupe_key(item.key, result.payload)
        if self.mode == MASTER and item.status == Status.SUCCEEDED and item.fingerprint == fingerprint(item.payload):
            return False  # written before exactly so: no call at all
        return ledger.update_record(item.record_id, when_status=self.open, status=Status.PENDING,
                                    payload=item.payload, run=self.run, **fields)

    def decide_removal(self, item, fields):
        if self.mode != MASTER:
            self.settle(item, Status.SKIPPED, when_status=self.open, run=self.run, **reason("removed_at_source"),
                        **fields)
            return False
        if item.status == Status.SUCCEEDED and item.fingerprint == REMOVED:
            return False  # disabled before
        return ledger.update_record(item.record_id, when_status=self.open, status=Status.PENDING, run=self.run,
                                    **fields)

    # ---- write and settle ---------------------------------------------------------------------

    def write(self, batch):
        """Claim the batch and hand it to the writer, which writes batches one after the other while the next
        ones are read. Master data goes in dependency order and waits for each group's outcome: parents first,
        and a record whose dependency failed or waits, waits."""
        self.tick()
        send, settle = {BILL: (self.send_bills, self.bills_written), MASTER: (self.send_master, self.master_written),
                        MESSAGE: (self.send_messages, self.messages_written)}[self.mode]
        for group in self.in_dependency_order(batch) if self.mode == MASTER else [batch]:
            while self.writing and (self.mode == MASTER or len(self.writing) >= self.writers - 1 + WRITES_AHEAD):
                self.wait_for(self.writing.popleft())
            if not self.writes_allowed:  # they stay pending in the ledger for the next run
                return
            if self.mode == MASTER:
                group = self.without_blocked(group)
            token, claimed = ledger.claim_for_writing(self.run, [item.record_id for item in group])
            mine = [item for item in group if item.record_id in claimed]  # another run may have taken some
            if mine:
                self.writing.append(self.start(self.writer, self.guarded, send, mine,
                                               then=lambda f, t=token, m=mine: self.written(t, m, f, settle)))

    def guarded(self, send, items):  # in the writer thread
        """Once a write was refused before anything was saved (credentials, quota), the batches queued behind it
        are not sent: they go back to pending."""
        if self.halted.is_set():
            raise Halted
        try:
            return send(items)
        except RemoteError as error:
            if not isinstance(error, (TransientError, BusinessError)):
                self.halted.set()
            raise

    def written(self, token, items, future, settle):
        try:
            result = future.result()
        except Halted:
            for item in items:
                ledger.update_record(item.record_id, when_claim=token, status=Status.PENDING, claim="")
            return None
        except RemoteError as error:
            return self.write_failed(token, items, error)
        return settle(token, items, result)

    # BILL: written once per key, ever.

    def send_bills(self, items):  # in the writer thread
        """The target is searched for the batch's keys first (one query): a bill another scheme or a lost
        attempt already wrote is adopted, never written twice. Schemes sharing the form take turns."""
        with self.turn_on_target():
            found = self.target.find([item.key for item in items])
            items = [item for item in items if item.key not in found]
            return found, self.send(items)

    @contextmanager
    def turn_on_target(self):
        if not self.shared_target:
            yield
            return
        token = ledger.new_claim()
        ledger.take_turn(self.scheme, token, wait=settings.SYNC_OUTCOME_HORIZON_SECONDS + 60)
        try:
            yield
        except TransientError:  # the save may still land: the others' searches must wait for it
            ledger.end_turn(self.scheme, token, keep_for=settings.SYNC_OUTCOME_HORIZON_SECONDS)
            raise
        except BaseException:
            ledger.end_turn(self.scheme, token)
            raise
        ledger.end_turn(self.scheme, token)

    def send(self, items):
        outcomes = self.target.write([(item.key, item.payload) for item in items]) if items else []
        if len(outcomes) != len(items):
            raise TransientError(f"{len(outcomes)} outcomes for {len(items)} items", system="engine")
        return outcomes

    def bills_written(self, token, items, result):
        found, outcomes = result
        now = timezone.now()
        for item in [item for item in items if item.key in found]:
            bill = found[item.key]
            self.run.adopted_count += self.settle(
                item, Status.SUCCEEDED, when_claim=token, claim="", target_id=bill.id, target_number=bill.number,
                response=bill.response, booked_via=SyncRecord.Via.RECONCILED, booked_at=now,
                **(reason(bill.code, bill.params, bill.message) if bill.code else NO_REASON))
        booked = self.settle_outcomes(token, [item for item in items if item.key not in found], outcomes)
        if booked and (self.target.params.get("submit") or self.target.params.get("audit")):
            self.start(self.writer, self.target.after_write, [outcome for _item, outcome in booked],
                       then=lambda f: self.followed_up(booked, f))
        if booked and self.scheme.writeback:
            self.start(self.readers, self.source.write_back,
                       [(self.with_bill(item.data, outcome), outcome.number) for item, outcome in booked],
                       self.scheme.writeback_template,
                       then=lambda f: self.notified([item.record_id for item, _outcome in booked], f))

    def with_bill(self, data, outcome):
        """The source record and the bill it became: its id and the link that opens it for the reader."""
        form_id = (self.scheme.target_params or {}).get("form_id", "")
        corp_id = getattr(self.scheme.source_connection, "corp_id", "")
        return {**data, "bill_id": outcome.id, "bill_link": deeplinks.bill_url(form_id, outcome.id, corp_id)}

    def settle_outcomes(self, token, items, outcomes, **written):
        """Each item as the target answered it; returns the (item, outcome) pairs written."""
        now, booked = timezone.now(), []
        for item, outcome in zip(items, outcomes):
            if outcome.ok:
                extra = {key: value(item, outcome) for key, value in written.items()}
                self.settle(item, Status.SUCCEEDED, when_claim=token, claim="", target_id=outcome.id,
                            target_number=outcome.number, response=outcome.response, booked_via=self.via,
                            booked_at=now, **{**NO_REASON, "error": outcome.message}, **extra)
                booked.append((item, outcome))
            elif outcome.waiting:
                self.blocked.add(item.key)
                period = (outcome.params or {}).get("period", "") if outcome.code == periods.REASON else None
                self.settle(item, Status.WAITING if period is None else Status.PERIOD, when_claim=token, claim="",
                            response=outcome.response, **({} if period is None else {"waiting_period": period}),
                            **reason(outcome.code or "dependency_missing", outcome.params or {
                                "message": outcome.message}, outcome.message))
            else:
                self.blocked.add(item.key)
                self.settle(item, Status.FAILED, when_claim=token, claim="", response=outcome.response,
                            error_kind=SyncRecord.ErrorKind.REJECTED, **reason(
                                outcome.code or "target_refused", outcome.params or {"message": outcome.message},
                                outcome.message))
        return booked

    # MASTER: upserted by business number, changed fields only, disabled instead of deleted.

    def in_dependency_order(self, batch):
        """The batch in groups, each written after the one before: a parent before its children."""
        keys = {item.key for item in batch}
        needs = {item.key: [key for key in self.target.depends_on(item.key, item.payload or item.written or {})
                            if key in keys and key != item.key] for item in batch}
        placed, remaining = set(), list(batch)
        while remaining:
            group = [item for item in remaining if all(key in placed for key in needs[item.key])] or remaining
            placed.update(item.key for item in group)
            remaining = [item for item in remaining if item.key not in placed]
            yield group

    def without_blocked(self, group):
        """Records whose dependency failed or waits (in this run, or as the ledger has it) wait with that reason."""
        needs = {item.key: [key for key in self.target.depends_on(item.key, item.payload or item.written or {})
                            if key != item.key] for item in group if not item.removed}
        unknown = {key for keys in needs.values() for key in keys} - self.blocked - self.seen
        if unknown:
            self.blocked.update(SyncRecord.objects.filter(scheme=self.scheme, source_key__in=unknown).exclude(
                status=Status.SUCCEEDED).values_list("source_key", flat=True))
        ready = []
        for item in group:
            blocking = [key for key in needs.get(item.key, []) if key in self.blocked]
            if blocking:
                self.blocked.add(item.key)
                self.settle(item, Status.WAITING, when_status=(Status.PENDING,),
                            **reason("dependency", {"keys": blocking}))
            else:
                ready.append(item)
        return ready

    def send_master(self, items):  # in the writer thread: remote calls only
        """Find the batch's records (one query), let the target plan each one, then write what changed and
        disable what is gone. Returns {key: (Change, Outcome or None)}."""
        with self.turn_on_target():
            return self.plan_and_write(items)

    def plan_and_write(self, items):
        existing = self.target.find([(item.key, item.written if item.removed else item.payload) for item in items])
        for item in items:
            if not item.removed:
                item.change = self.target.plan(item.key, item.payload, existing.get(item.key), item.synced)
        changed = [item for item in items
                   if not item.removed and item.change.action in (Change.CREATE, Change.UPDATE, Change.ENABLE)]
        outcomes = self.target.write([(item.key, item.change.payload) for item in changed]) if changed else []
        removed = [item for item in items if item.removed]
        outcomes += self.target.remove([(item.key, existing.get(item.key)) for item in removed]) if removed else []
        if len(outcomes) != len(changed) + len(removed):
            raise TransientError(f"{len(outcomes)} outcomes for {len(changed) + len(removed)} items", system="engine")
        return dict(zip([item.key for item in changed + removed], outcomes))

    def master_written(self, token, items, outcomes):
        for item in [item for item in items if not item.removed]:
            if item.change.action == Change.UNCHANGED:
                self.settle(item, Status.SUCCEEDED, when_claim=token, claim="", fingerprint=fingerprint(item.payload),
                            **NO_REASON)
            elif item.change.action == Change.CONFLICT:
                self.blocked.add(item.key)
                self.settle(item, Status.CONFLICT, when_claim=token, claim="",
                            **reason("conflict", {"fields": item.change.conflicts}))
        done = [item for item in items if item.key in outcomes]
        with transaction.atomic():  # the source's own bookkeeping (the identity map) settles with the ledger
            booked = self.settle_outcomes(
                token, done, [outcomes[item.key] for item in done],
                fingerprint=lambda item, outcome: REMOVED if item.removed else fingerprint(item.payload),
                synced_state=lambda item, outcome: item.synced if outcome.state is None else {
                    **(item.synced or {}), "target": outcome.state})
            if booked:
                self.source.settled([(item.key, item.data or {}, "remove" if item.removed else item.change.action,
                                      outcome) for item, outcome in booked])

    # MESSAGE: sent once per key (the key carries the de-duplication window).

    def send_messages(self, items):  # in the writer thread
        return self.send(items)

    def messages_written(self, token, items, outcomes):
        self.settle_outcomes(token, items, outcomes)

    def followed_up(self, booked, future):
        try:
            failures = future.result()
        except RemoteError as error:
            failures = {outcome.number: reason("follow_up_failed", {"step": "submit", "message": error.message},
                                               error.message) for _item, outcome in booked}
        for item, outcome in booked:
            failure = failures.get(outcome.number)
            if isinstance(failure, str):  # an adapter that gives only the remote's words
                failure = reason("target_refused", {"message": failure}, failure)
            elif failure is not None and not isinstance(failure, dict):
                failure = reason(failure.code or "target_refused", failure.params, failure.message)
            if failure:
                ledger.update_record(item.record_id, **failure)

    def notified(self, record_ids, future):
        try:
            future.result()
        except RemoteError as error:
            return self.add_error("notifying_failed", message=error.message)
        SyncRecord.objects.filter(pk__in=record_ids).update(notified_at=timezone.now())

    def write_failed(self, token, items, error):
        if isinstance(error, TransientError):
            return self.reconcile(token, items, error)
        for item in items:
            self.blocked.add(item.key)
        if isinstance(error, BusinessError):
            for item in items:
                self.settle(item, Status.FAILED, when_claim=token, claim="", error_kind=SyncRecord.ErrorKind.REJECTED,
                            **reason("target_refused", {"message": error.message}, error.message))
            return
        # Refused before anything was saved (credentials, quota): back to pending, and stop writing.
        for item in items:
            ledger.update_record(item.record_id, when_claim=token, status=Status.PENDING, claim="",
                                 error_kind=SyncRecord.ErrorKind.CONFIGURATION,
                                 **reason("configuration", {"message": error.message}, error.message))
        self.stop("writing_failed", message=error.message, writes=False)

    def reconcile(self, token, items, error):
        """The batch may or may not have been saved: ask the target by the dedupe field, adopt what exists."""
        records = [SyncRecord(pk=item.record_id, source_key=item.key, claim=token) for item in items]
        try:
            adopted, _released = ledger.reconcile(self.run, self.target, records, via=self.via)
            self.run.adopted_count += adopted
        except RemoteError as again:
            self.add_error("batch_unreconciled", count=len(items), first=error.message, second=again.message)
        self.latencies.extend(time.monotonic() - item.started for item in items)

    def settle(self, item, status, *, when_status=None, when_claim=None, **fields):
        # A failure before any write (mapping, source, a rule) is an attempt too, so a retry that fails again is
        # counted on the record (a claimed write counted its attempt when it was claimed).
        if status == Status.FAILED and when_claim is None:
            fields.update(attempts=F("attempts") + 1, last_attempt_at=timezone.now())
        settled = ledger.update_record(item.record_id, when_status=when_status, when_claim=when_claim,
                                       status=status, **{"claim": "", **fields})
        if settled:
            self.latencies.append(time.monotonic() - item.started)
        return settled

    # ---- remote calls in flight ---------------------------------------------------------------

    def start(self, pool, func, *args, then):
        """Run `func` in `pool`; `then(future)` records its outcome in this thread once it is done."""
        future = pool.submit(func, *args)
        self.jobs[future] = then
        return future

    def result(self, future):
        self.wait_for(future)
        return future.result()

    def wait_for(self, future):
        """Wait for `future`, recording the outcomes of calls as they finish meanwhile (its own too, if it is one)."""
        while not future.done():
            wait([future, *self.jobs], timeout=POLL, return_when=FIRST_COMPLETED)
            self.tick()
        self.record_finished()

    def record_finished(self):
        for future in [future for future in self.jobs if future.done()]:
            self.jobs.pop(future)(future)

    def finish_jobs(self):
        while self.jobs:
            wait(list(self.jobs), timeout=POLL, return_when=FIRST_COMPLETED)
            self.tick()

    # ---- the run's own business ---------------------------------------------------------------

    def tick(self, force=False):
        """Now and then: finished calls recorded, progress stored for the admin's bar, stop requests heeded."""
        self.record_finished()
        if self.should_stop() and not self.stopping:
            self.stop("stopped_on_request")
        if self.lease is not None and self.lease.lost.is_set() and self.writes_allowed:
            self.stop("lease_lost", writes=False)
        if force or time.monotonic() - self.last_tick >= RENEW_EVERY:
            self.last_tick = time.monotonic()
            reset_queries()  # with DEBUG on, a long run would otherwise keep thousands of statements
            self.run.read_count = len(self.seen)
            ledger.store_progress(self.run)

    def stop(self, code, *, writes=True, **params):
        """Read nothing more; with writes=False also write nothing more (the ledger keeps those pending).
        `code` and `params`: why, as a reason of `integrations.reasons`."""
        if not self.stopping:
            logger.warning("run %s stops: %s %s", self.run.pk, code, params)
            self.add_error(code, **params)
        self.stopping = self.interrupted = True
        self.writes_allowed = self.writes_allowed and writes

    def add_error(self, code, **params):
        ledger.add_reason(self.run, code, **params)
