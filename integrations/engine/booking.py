"""The booking loop: one run's records, batch by batch — list keys, read, decide, map, write, settle.

    for batch in batches of the records that are ready to write:
        write the batch, settle each record in the ledger

where "ready" means: listed (or pending in the ledger), read from the source, judged by the source's
verdict and mapped. Every ledger update happens in the run's own thread, in this order. Concurrency only
overlaps remote calls (`integrations.engine.overlap`): the listing runs ahead in a thread of its own, detail
fetches overlap up to the connection's parallel-request setting, and a batch is written while the next one
is read; the client's slots and rate limiter bound every call.
"""

import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice

from django.utils import timezone
from django.utils.translation import gettext

from integrations import mapping
from integrations.adapters import Listed, Verdict
from integrations.clients.errors import BusinessError, RemoteError, TransientError
from integrations.engine import ledger
from integrations.engine.overlap import POLL, Pool, ahead
from integrations.models import SyncRecord

logger = logging.getLogger("integrations.engine")
Status = SyncRecord.Status
OPEN = (Status.PENDING, Status.WAITING)
RENEW_EVERY = 2.0  # seconds between progress updates
CHUNK = 500  # listed keys looked up in the ledger at once


@dataclass
class Item:
    record_id: int
    key: str
    data: dict | None = None
    started: float = field(default_factory=time.monotonic)
    payload: dict | None = None
    fields: dict | None = None  # the ledger's columns from a fresh read (None: stored data, judged before)


def identity_lookup():
    from integrations.identity import kingdee_identity

    return lru_cache(maxsize=None)(kingdee_identity)


def batched(items, size):
    items = iter(items)
    while batch := list(islice(items, size)):
        yield batch


class Booking:
    def __init__(self, run, scheme, source, target, *, via, should_stop=None, lister=None, lease=None):
        self.run, self.scheme, self.source, self.target, self.via = run, scheme, source, target, via
        self.lister = lister or source
        self.lease = lease
        self.should_stop = should_stop or (lambda: False)
        self.rows = scheme.rows()
        self.lookups = mapping.Lookups(value_maps=scheme.value_map_dicts(), identity=identity_lookup())
        self.concurrency = max(1, scheme.source_connection.max_concurrency)
        self.seen, self.unfinished = set(), set()
        self.jobs = {}  # remote calls in flight: future → what records their outcome in the ledger
        self.writing = None  # the future of the batch being written
        self.stopping = self.interrupted = False
        self.writes_allowed = True
        self.listing_complete = False
        self.latencies = []
        self.last_tick = time.monotonic()

    # ---- the loop ---------------------------------------------------------------------------

    def execute(self, *, window=None, keys=None, record_ids=None):
        """Process the ledger's pending records (all, or `record_ids`), then `keys`, then a listed window."""
        with Pool(self.concurrency, "read") as self.readers, Pool(1, "write") as self.writer:
            try:
                records = self.read(self.to_read(window, keys, record_ids))
                ready = (item for item in records if self.decide(item))
                for batch in batched(ready, self.scheme.batch_size):
                    self.write(batch)
            finally:
                self.finish_jobs()
                self.run.read_count = len(self.seen)

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
                return self.stop(gettext("Listing the source failed: %(message)s") % {"message": error.message})
            self.listing_complete = True
            yield from self.finished_waiting(min(since, recheck_since) if recheck_since else since)

    def pending_in_ledger(self, record_ids=None):
        pending = SyncRecord.objects.filter(scheme=self.scheme, status=Status.PENDING)
        if record_ids is not None:
            pending = pending.filter(pk__in=record_ids)
        rows = list(pending.values_list("id", "source_key", "source_data"))
        self.seen.update(key for _id, key, _data in rows)
        self.adopt_for_this_run([pk for pk, _key, _data in rows])
        for record_id, key, data in rows:
            yield Item(record_id, key, data)

    def take(self, listed):
        """Listed keys new to the ledger get a row before anything else happens; only keys the ledger has not
        settled are read (a running instance seen by the listing waits without a detail call)."""
        self.unfinished.update(entry.key for entry in listed if entry.finished is False)
        listed = [entry for entry in dict((entry.key, entry) for entry in listed).values() if entry.key not in self.seen]
        if not listed:
            return []
        self.seen.update(entry.key for entry in listed)
        records = SyncRecord.objects.filter(scheme=self.scheme, source_key__in=[entry.key for entry in listed])
        known = set(records.values_list("source_key", flat=True))
        waiting = gettext("Not approved yet (status RUNNING).")
        SyncRecord.objects.bulk_create([
            SyncRecord(scheme=self.scheme, source_key=entry.key, run=self.run, source_time=entry.bound,
                       status=Status.WAITING if entry.finished is False else Status.PENDING,
                       error=waiting if entry.finished is False else "")
            for entry in listed if entry.key not in known
        ], ignore_conflicts=True)
        state = {key: (pk, status) for pk, key, status in records.values_list("id", "source_key", "status")}
        items = [Item(state[entry.key][0], entry.key) for entry in listed
                 if state[entry.key][1] == Status.PENDING
                 or (state[entry.key][1] == Status.WAITING and entry.finished is not False)]
        self.adopt_for_this_run([item.record_id for item in items])
        return items

    def finished_waiting(self, floor):
        """Waiting records the listing no longer reports as unfinished have finished: read them again."""
        waiting = SyncRecord.objects.filter(scheme=self.scheme, status=Status.WAITING, source_time__gte=floor)
        items = [Item(pk, key) for pk, key in waiting.values_list("id", "source_key")
                 if key not in self.seen and key not in self.unfinished]
        self.seen.update(item.key for item in items)
        self.adopt_for_this_run([item.record_id for item in items])
        return items

    def adopt_for_this_run(self, record_ids):
        """The run's progress is read from the ledger: the records it takes on are marked as its own."""
        for start in range(0, len(record_ids), CHUNK):
            SyncRecord.objects.filter(pk__in=record_ids[start:start + CHUNK], status__in=OPEN).update(run=self.run)

    # ---- read and decide ----------------------------------------------------------------------

    def read(self, items):
        """The records with their source data, in order; detail fetches overlap."""
        in_flight = deque()
        for item in items:
            if self.stopping:
                break
            future = None if item.data is not None else self.readers.submit(self.fetch, item)
            in_flight.append((item, future))
            while in_flight and (len(in_flight) > 2 * self.concurrency or in_flight[0][1] is None
                                 or in_flight[0][1].done()):
                yield self.fetched(*in_flight.popleft())
        while in_flight:
            yield self.fetched(*in_flight.popleft())

    def fetch(self, item):  # in a reader thread: remote calls only
        item.started = time.monotonic()
        return self.source.fetch(item.key)

    def fetched(self, item, future):
        if future is None:
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
                       "originator": summary["originator"], "amount": summary["amount"], "run": self.run}
        if summary["time"] is not None:
            item.fields["source_time"] = summary["time"]

    def fetch_failed(self, item, error):
        if isinstance(error, BusinessError):
            return self.settle(item, Status.FAILED, when_status=OPEN, run=self.run, error=error.message,
                               error_kind=SyncRecord.ErrorKind.SOURCE)
        ledger.update_record(item.record_id, when_status=(Status.PENDING,), run=self.run, error=error.message,
                             error_kind=SyncRecord.ErrorKind.TRANSIENT)
        if not isinstance(error, TransientError):  # quota, credentials: every further call would fail too
            self.stop(gettext("Reading the source failed: %(message)s") % {"message": error.message})

    def decide(self, item):
        """Judge and map one record; True when it is ready to write (stored pending, with its payload)."""
        if item is None:
            return False
        fields = item.fields or {}
        verdict = self.source.verdict(item.data) if item.fields is not None else Verdict(Verdict.WRITE)
        if verdict.action != Verdict.WRITE:
            status, kind = {
                Verdict.WAIT: (Status.WAITING, ""),
                Verdict.SKIP: (Status.SKIPPED, ""),
                Verdict.PERSON: (Status.FAILED, SyncRecord.ErrorKind.RULE),
            }[verdict.action]
            self.settle(item, status, when_status=OPEN, error=verdict.reason, error_kind=kind, **fields)
            return False
        result = mapping.build_payload(self.rows, item.data, self.lookups)
        if not result.ok:
            error = "\n".join(cell.render_error(gettext) for cell in result.errors)
            self.settle(item, Status.FAILED, when_status=OPEN, error=error, error_kind=SyncRecord.ErrorKind.MAPPING,
                        payload=result.payload, **fields)
            return False
        item.payload = self.target.with_dedupe_key(item.key, result.payload)
        return ledger.update_record(item.record_id, when_status=OPEN, status=Status.PENDING, payload=item.payload,
                                    **fields)

    # ---- write and settle ---------------------------------------------------------------------

    def write(self, batch):
        """Claim the batch and hand it to the writer; the previous batch's outcome is settled first."""
        self.tick()
        if self.writing is not None:
            self.wait_for(self.writing)
            self.writing = None
        if not self.writes_allowed:  # they stay pending in the ledger for the next run
            return
        token, claimed = ledger.claim_for_writing(self.run, [item.record_id for item in batch])
        mine = [item for item in batch if item.record_id in claimed]  # another run may have taken some
        if mine:
            self.writing = self.start(self.writer, self.send, mine, then=lambda f: self.written(token, mine, f))

    def send(self, items):  # in the writer thread: remote calls only
        """BILL targets are searched for the batch's keys first (one query): a bill another scheme or a lost
        attempt already wrote is adopted, never written twice."""
        found = self.target.find([item.key for item in items]) if self.target.mode == self.target.BILL else {}
        items = [item for item in items if item.key not in found]
        outcomes = self.target.write([(item.key, item.payload) for item in items]) if items else []
        if len(outcomes) != len(items):
            raise TransientError(f"{len(outcomes)} outcomes for {len(items)} items", system="engine")
        return found, outcomes

    def written(self, token, items, future):
        try:
            found, outcomes = future.result()
        except RemoteError as error:
            return self.write_failed(token, items, error)
        now = timezone.now()
        for item in [item for item in items if item.key in found]:
            bill = found[item.key]
            self.run.adopted_count += self.settle(
                item, Status.SUCCEEDED, when_claim=token, claim="", target_id=bill.id, target_number=bill.number,
                response=bill.response, error=bill.message, error_kind="", booked_via=SyncRecord.Via.RECONCILED,
                booked_at=now)
        booked = []
        for item, outcome in zip([item for item in items if item.key not in found], outcomes):
            if outcome.ok:
                self.settle(item, Status.SUCCEEDED, when_claim=token, claim="", target_id=outcome.id,
                            target_number=outcome.number, response=outcome.response, error=outcome.message,
                            error_kind="", booked_via=self.via, booked_at=now)
                booked.append((item, outcome))
            else:
                self.settle(item, Status.FAILED, when_claim=token, claim="", response=outcome.response,
                            error=outcome.message, error_kind=SyncRecord.ErrorKind.REJECTED)
        if booked and (self.target.params.get("submit") or self.target.params.get("audit")):
            self.start(self.writer, self.target.after_write, [outcome for _item, outcome in booked],
                       then=lambda f: self.followed_up(booked, f))
        if booked and self.scheme.writeback:
            self.start(self.readers, self.source.write_back,
                       [(item.data, outcome.number) for item, outcome in booked], self.scheme.writeback_template,
                       then=lambda f: self.notified([item.record_id for item, _outcome in booked], f))

    def followed_up(self, booked, future):
        try:
            failures = future.result()
        except RemoteError as error:
            failures = {outcome.number: error.message for _item, outcome in booked}
        for item, outcome in booked:
            if outcome.number in failures:
                ledger.update_record(item.record_id, error=failures[outcome.number])

    def notified(self, record_ids, future):
        try:
            future.result()
        except RemoteError as error:
            return self.add_error(gettext("Notifying the originators failed: %(message)s") % {"message": error.message})
        SyncRecord.objects.filter(pk__in=record_ids).update(notified_at=timezone.now())

    def write_failed(self, token, items, error):
        if isinstance(error, TransientError):
            return self.reconcile(token, items, error)
        if isinstance(error, BusinessError):
            for item in items:
                self.settle(item, Status.FAILED, when_claim=token, claim="", error=error.message,
                            error_kind=SyncRecord.ErrorKind.REJECTED)
            return
        # Refused before anything was saved (credentials, quota): back to pending, and stop writing.
        for item in items:
            ledger.update_record(item.record_id, when_claim=token, status=Status.PENDING, claim="",
                                 error=error.message, error_kind=SyncRecord.ErrorKind.CONFIGURATION)
        self.stop(gettext("Writing to the target failed: %(message)s") % {"message": error.message}, writes=False)

    def reconcile(self, token, items, error):
        """The batch may or may not have been saved: ask the target by the dedupe field, adopt what exists."""
        records = [SyncRecord(pk=item.record_id, source_key=item.key, claim=token) for item in items]
        try:
            adopted, _released = ledger.reconcile(self.run, self.target, records, via=self.via)
            self.run.adopted_count += adopted
        except RemoteError as again:
            self.add_error(gettext(
                "A batch of %(count)d records may not have been saved (%(first)s), and the target could not be "
                "asked (%(second)s): the next run reconciles them.") % {
                "count": len(items), "first": error.message, "second": again.message})
        self.latencies.extend(time.monotonic() - item.started for item in items)

    def settle(self, item, status, *, when_status=None, when_claim=None, **fields):
        settled = ledger.update_record(item.record_id, when_status=when_status, when_claim=when_claim,
                                       status=status, **fields)
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
            self.stop(gettext("Stopped on request; the rest is picked up by the next run."))
        if self.lease is not None and self.lease.lost.is_set() and self.writes_allowed:
            self.stop(gettext("This run lost its lease (another worker took the scheme over)."), writes=False)
        if force or time.monotonic() - self.last_tick >= RENEW_EVERY:
            self.last_tick = time.monotonic()
            self.run.read_count = len(self.seen)
            ledger.store_progress(self.run)

    def stop(self, reason, *, writes=True):
        """Read nothing more; with writes=False also write nothing more (the ledger keeps those pending)."""
        if not self.stopping:
            logger.warning("run %s stops: %s", self.run.pk, reason)
            self.add_error(reason)
        self.stopping = self.interrupted = True
        self.writes_allowed = self.writes_allowed and writes

    def add_error(self, message):
        self.run.error = "\n".join(filter(None, [self.run.error, message]))[:10000]
