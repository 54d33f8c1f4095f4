"""The flow of records through one run: list → fetch → judge → map → claim → write → record.

The main thread owns the database; listing, detail fetches and writes run in a few threads
that only talk HTTP and report back through one event queue. So details are fetched while
later id pages are still being listed, and the next batch fills while the last one is
being written, but every ledger update happens in one place, in order.
"""

import gc
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext

from integrations import mapping
from integrations.adapters import Listed, Verdict
from integrations.clients.errors import BusinessError, RemoteError, TransientError
from integrations.engine import ledger
from integrations.models import SyncRecord

logger = logging.getLogger("integrations.engine")
Status = SyncRecord.Status
MAX_BATCH_WAIT = 5.0  # seconds a partial batch may wait for more records
RENEW_EVERY = 2.0  # seconds between progress updates
CHUNK = 500  # listed keys looked up in the ledger at once


@dataclass
class Item:
    record_id: int
    key: str
    data: dict | None = None
    started: float = field(default_factory=time.monotonic)
    payload: dict | None = None


class Workers:
    """A few daemon threads running callables; each closes its own database connections when it stops
    (a client may touch the Django cache, which can live in the database)."""

    def __init__(self, count, name):
        self.tasks = queue.Queue()
        self.threads = [threading.Thread(target=self._loop, name=f"{name}-{n}", daemon=True) for n in range(count)]
        for thread in self.threads:
            thread.start()

    def submit(self, func, *args):
        self.tasks.put((func, args))

    def _loop(self):
        try:
            for func, args in iter(self.tasks.get, None):
                func(*args)
        finally:
            connections.close_all()

    def shutdown(self):
        for _thread in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join(timeout=120)


def identity_lookup(scheme=None):
    """The identity map of the scheme's DingTalk organisation (its DingTalk connection, source or target)."""
    from integrations.identity import kingdee_identity

    connections = (scheme.source_connection, scheme.target_connection) if scheme is not None else ()
    organisation = next((c for c in connections if c is not None and c.kind == "dingtalk"), None)
    return lru_cache(maxsize=None)(lambda userid: kingdee_identity(userid, organisation))


class Pipeline:
    def __init__(self, run, scheme, source, target, *, via, should_stop=None, lister=None, lease=None):
        self.run, self.scheme, self.source, self.target, self.via = run, scheme, source, target, via
        self.lease = lease
        self.lister = lister or source
        self.should_stop = should_stop or (lambda: False)
        self.rows = scheme.rows()
        self.lookups = mapping.Lookups(value_maps=scheme.value_map_dicts(), identity=identity_lookup(scheme))
        self.events = queue.Queue()
        self.concurrency = max(1, scheme.source_connection.max_concurrency)
        self.to_fetch = deque()
        self.seen = set()
        self.unfinished = set()  # keys the listing reported as not finished
        self.recheck_floor = None
        self.batch = []
        self.batch_started = 0.0
        self.fetching = self.writing = self.notifying = 0
        self.interrupted = False
        self.listing = False
        self.listing_complete = False
        self.stopping = False
        self.no_more_writes = False
        self.lost = False
        self.crash = None
        self.latencies = []
        self.last_renewal = time.monotonic()

    # ---- entry ----------------------------------------------------------------------------

    def execute(self, *, window=None, keys=None, record_ids=None):
        """Process the ledger's pending records (all, or `record_ids`), then `keys`, then a listed window."""
        self.fetchers = Workers(self.concurrency, "fetch")
        self.writer = Workers(1, "write")
        self.notifier = Workers(1, "notify")
        # A collection that walks the worker's whole heap stops every thread at once; the fetches it held back
        # then leave together and break the remote's per-second quota. Collect now and leave the old objects
        # out of the collections during the run.
        gc.collect()
        gc.freeze()
        try:
            self.queue_ledger_records(record_ids)
            if keys:
                self.consider([Listed(str(key)) for key in keys])
            if window:
                self.start_listing(*window)
            self.loop()
        finally:
            self.stopping = True
            for workers in (self.fetchers, self.writer, self.notifier):
                workers.shutdown()
            gc.unfreeze()
        if self.crash is not None:
            raise self.crash

    def loop(self):
        while not self.finished():
            self.pump_fetches()
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                event = None
            if event is not None:
                self.handle(event)
            self.maybe_flush()
            self.maybe_renew()
            if self.should_stop() and not self.stopping:
                self.stop(gettext("Stopped on request; the rest is picked up by the next run."))

    def finished(self):
        idle = not self.to_fetch and not self.fetching and not self.batch and not self.writing and not self.notifying
        return idle and not self.listing and self.events.empty()

    def stop(self, reason, *, writes=True):
        """Fetch nothing more; with writes=False also write nothing more (the ledger keeps those pending)."""
        if not self.stopping:
            logger.warning("run %s stops: %s", self.run.pk, reason)
            self.run.error = "\n".join(filter(None, [self.run.error, reason]))[:10000]
        self.stopping = self.interrupted = True
        self.no_more_writes = self.no_more_writes or not writes
        self.run.done += len(self.to_fetch)
        self.to_fetch.clear()

    # ---- input ----------------------------------------------------------------------------

    def queue_ledger_records(self, record_ids=None):
        pending = SyncRecord.objects.filter(scheme=self.scheme, status=Status.PENDING)
        if record_ids is not None:
            pending = pending.filter(pk__in=record_ids)
        for record_id, key, data in pending.values_list("id", "source_key", "source_data").iterator(chunk_size=200):
            self.seen.add(key)
            self.run.total += 1
            self.run.read_count += 1
            if data is None:
                self.to_fetch.append(Item(record_id, key))
            else:
                self.ready(Item(record_id, key, data))

    def start_listing(self, since, until, recheck_since=None):
        self.listing = True
        self.recheck_floor = min(since, recheck_since) if recheck_since else since

        def produce():
            try:
                for listed in self.lister.list(since, until, recheck_since):
                    if self.stopping:
                        break
                    self.events.put(("listed", listed))
                self.events.put(("listing_done", None))
            except RemoteError as error:
                self.events.put(("listing_failed", error))
            except Exception as error:  # noqa: BLE001 (reported to the main thread, which re-raises)
                logger.exception("listing crashed")
                self.events.put(("crashed", error))
            finally:
                connections.close_all()

        threading.Thread(target=produce, name="list", daemon=True).start()

    def consider(self, listed):
        """Look listed keys up in the ledger: new ones get a row before anything else happens; only keys
        the ledger has not settled are fetched (a running instance seen by the listing is not fetched)."""
        self.unfinished.update(entry.key for entry in listed if entry.finished is False)
        unique = dict((entry.key, entry) for entry in listed)
        listed = [entry for entry in unique.values() if entry.key not in self.seen]
        if not listed:
            return
        self.seen.update(entry.key for entry in listed)
        self.run.read_count += len(listed)
        keys = [entry.key for entry in listed]
        records = SyncRecord.objects.filter(scheme=self.scheme, source_key__in=keys)
        known = set(records.values_list("source_key", flat=True))
        waiting_reason = gettext("Not approved yet (status RUNNING).")
        SyncRecord.objects.bulk_create(
            [
                SyncRecord(
                    scheme=self.scheme, source_key=entry.key, run=self.run, source_time=entry.bound,
                    status=Status.WAITING if entry.finished is False else Status.PENDING,
                    error=waiting_reason if entry.finished is False else "",
                )
                for entry in listed
                if entry.key not in known
            ],
            ignore_conflicts=True,
        )
        state = {key: (pk, status) for pk, key, status in records.values_list("id", "source_key", "status")}
        for entry in listed:
            pk, status = state[entry.key]
            if status == Status.PENDING or (status == Status.WAITING and entry.finished is not False):
                self.run.total += 1
                self.to_fetch.append(Item(pk, entry.key))

    # ---- events ---------------------------------------------------------------------------

    def handle(self, event):
        kind, *args = event
        if kind == "listed":
            chunk = [args[0]]
            while len(chunk) < CHUNK:
                try:
                    more = self.events.get_nowait()
                except queue.Empty:
                    break
                if more[0] != "listed":
                    self.consider(chunk)
                    return self.handle(more)
                chunk.append(more[1])
            return self.consider(chunk)
        getattr(self, f"on_{kind}")(*args)

    def on_listing_done(self, _none):
        self.listing = False
        self.listing_complete = not self.interrupted
        if self.listing_complete:
            self.recheck_waiting()

    def recheck_waiting(self):
        """Waiting records the listing no longer reports as unfinished have finished: read them again."""
        waiting = SyncRecord.objects.filter(scheme=self.scheme, status=Status.WAITING,
                                            source_time__gte=self.recheck_floor)
        for pk, key in waiting.values_list("id", "source_key"):
            if key not in self.seen and key not in self.unfinished:
                self.seen.add(key)
                self.run.total += 1
                self.to_fetch.append(Item(pk, key))

    def on_listing_failed(self, error):
        self.listing = False
        self.stop(gettext("Listing the source failed: %(message)s") % {"message": error.message})

    def on_crashed(self, error):
        self.listing = False
        self.crash = self.crash or error
        self.stop(gettext("Unexpected error: %(error)s") % {"error": repr(error)}, writes=False)

    def pump_fetches(self):
        while self.to_fetch and self.fetching < 2 * self.concurrency and not self.stopping:
            item = self.to_fetch.popleft()
            self.fetching += 1
            self.fetchers.submit(self.fetch, item)

    def fetch(self, item):
        item.started = time.monotonic()
        try:
            self.events.put(("fetched", item, self.source.fetch(item.key)))
        except RemoteError as error:
            self.events.put(("fetch_failed", item, error))
        except Exception as error:  # noqa: BLE001
            logger.exception("fetching %s crashed", item.key)
            self.events.put(("fetch_crashed", item, error))

    def on_fetched(self, item, data):
        self.fetching -= 1
        item.data = data
        summary = self.source.summary(data)
        fields = {
            "source_data": data, "title": summary["title"], "source_number": summary["number"],
            "originator": summary["originator"], "amount": summary["amount"], "run": self.run,
        }
        if summary["time"] is not None:
            fields["source_time"] = summary["time"]
        verdict = self.source.verdict(data)
        if verdict.action == Verdict.WRITE:
            return self.ready(item, fields)
        status, kind = {
            Verdict.WAIT: (Status.WAITING, ""),
            Verdict.SKIP: (Status.SKIPPED, ""),
            Verdict.PERSON: (Status.FAILED, SyncRecord.ErrorKind.RULE),
        }[verdict.action]
        self.settle(item, status, when_status=(Status.PENDING, Status.WAITING), error=verdict.reason,
                    error_kind=kind, **fields)

    def on_fetch_failed(self, item, error):
        self.fetching -= 1
        if isinstance(error, BusinessError):
            return self.settle(item, Status.FAILED, when_status=(Status.PENDING, Status.WAITING), run=self.run,
                               error=error.message, error_kind=SyncRecord.ErrorKind.SOURCE)
        ledger.update_record(item.record_id, when_status=(Status.PENDING,), run=self.run, error=error.message,
                             error_kind=SyncRecord.ErrorKind.TRANSIENT)
        if not isinstance(error, TransientError):  # quota, credentials: every further call would fail too
            self.stop(gettext("Reading the source failed: %(message)s") % {"message": error.message})

    def on_fetch_crashed(self, item, error):
        self.fetching -= 1
        self.on_crashed(error)

    # ---- mapping and batches --------------------------------------------------------------

    def ready(self, item, fields=None):
        """The record is approved: map it; a mapping error fails this record alone."""
        fields = fields or {}
        result = mapping.build_payload(self.rows, item.data, self.lookups)
        if not result.ok:
            error = "\n".join(cell.render_error(gettext) for cell in result.errors)
            return self.settle(item, Status.FAILED, when_status=(Status.PENDING, Status.WAITING), error=error,
                               error_kind=SyncRecord.ErrorKind.MAPPING, payload=result.payload, **fields)
        payload = self.target.with_dedupe_key(item.key, result.payload)
        stored = ledger.update_record(item.record_id, when_status=(Status.PENDING, Status.WAITING),
                                      status=Status.PENDING, payload=payload, **fields)
        if stored and not self.no_more_writes:
            item.payload = payload
            if not self.batch:
                self.batch_started = time.monotonic()
            self.batch.append(item)
        else:
            self.run.done += 1

    def settle(self, item, status, *, when_status=None, when_claim=None, **fields):
        if ledger.update_record(item.record_id, when_status=when_status, when_claim=when_claim, status=status,
                                **fields):
            self.latencies.append(time.monotonic() - item.started)
        self.run.done += 1

    def maybe_flush(self):
        if not self.batch:
            return
        if self.no_more_writes:  # they stay pending in the ledger for the next run
            self.run.done += len(self.batch)
            self.batch = []
            return
        full = len(self.batch) >= self.scheme.batch_size
        waited = time.monotonic() - self.batch_started >= MAX_BATCH_WAIT
        drained = not self.to_fetch and not self.fetching and (not self.listing or self.stopping)
        if full or waited or drained:
            self.flush()

    def flush(self):
        items, self.batch = self.batch[: self.scheme.batch_size], self.batch[self.scheme.batch_size:]
        self.batch_started = time.monotonic()
        token, claimed = ledger.claim_for_writing(self.run, [item.record_id for item in items])
        mine = [item for item in items if item.record_id in claimed]
        self.run.done += len(items) - len(mine)  # another run took those over
        if mine:
            self.writing += 1
            self.writer.submit(self.write, token, mine)

    def write(self, token, items):
        try:
            outcomes = self.target.write([(item.key, item.payload) for item in items])
            if len(outcomes) != len(items):
                raise TransientError(f"{len(outcomes)} outcomes for {len(items)} items", system="engine")
            self.events.put(("written", token, items, outcomes))
        except RemoteError as error:
            self.events.put(("write_failed", token, items, error))
        except Exception as error:  # noqa: BLE001
            logger.exception("writing a batch crashed")
            self.events.put(("write_crashed", token, items, error))

    # ---- outcomes -------------------------------------------------------------------------

    def on_written(self, token, items, outcomes):
        now = timezone.now()
        booked = []
        for item, outcome in zip(items, outcomes):
            if outcome.ok:
                self.settle(item, Status.SUCCEEDED, when_claim=token, claim="", target_id=outcome.id,
                            target_number=outcome.number, response=outcome.response, error=outcome.message,
                            error_kind="", booked_via=self.via, booked_at=now)
                booked.append((item, outcome))
            else:
                self.settle(item, Status.FAILED, when_claim=token, claim="", response=outcome.response,
                            error=outcome.message, error_kind=SyncRecord.ErrorKind.REJECTED)
        if booked and self.target_follow_up():
            self.writer.submit(self.follow_up, booked)
        else:
            self.writing -= 1
        if booked and self.scheme.writeback:
            self.notifying += 1
            self.notifier.submit(self.notify, booked)

    def target_follow_up(self):
        return self.target.params.get("submit") or self.target.params.get("audit")

    def follow_up(self, booked):
        try:
            failures = self.target.after_write([outcome for _item, outcome in booked])
        except RemoteError as error:
            failures = {outcome.number: error.message for _item, outcome in booked}
        self.events.put(("followed_up", booked, failures))

    def on_followed_up(self, booked, failures):
        self.writing -= 1
        for item, outcome in booked:
            if outcome.number in failures:
                ledger.update_record(item.record_id, error=failures[outcome.number])

    def notify(self, booked):
        try:
            self.source.write_back([(item.data, outcome.number) for item, outcome in booked],
                                   self.scheme.writeback_template)
            self.events.put(("notified", [item.record_id for item, _outcome in booked], ""))
        except RemoteError as error:
            self.events.put(("notified", [], error.message))

    def on_notified(self, record_ids, error):
        self.notifying -= 1
        if record_ids:
            SyncRecord.objects.filter(pk__in=record_ids).update(notified_at=timezone.now())
        if error:
            self.run.error = "\n".join(filter(None, [self.run.error, gettext(
                "Notifying the originators failed: %(message)s") % {"message": error}]))[:10000]

    def on_write_failed(self, token, items, error):
        self.writing -= 1
        if isinstance(error, TransientError):
            return self.reconcile_batch(token, items, error)
        if isinstance(error, BusinessError):
            for item in items:
                self.settle(item, Status.FAILED, when_claim=token, claim="", error=error.message,
                            error_kind=SyncRecord.ErrorKind.REJECTED)
            return
        # Refused before anything was saved (credentials, quota): back to pending, and stop writing.
        for item in items:
            ledger.update_record(item.record_id, when_claim=token, status=Status.PENDING, claim="",
                                 error=error.message, error_kind=SyncRecord.ErrorKind.CONFIGURATION)
            self.run.done += 1
        self.stop(gettext("Writing to the target failed: %(message)s") % {"message": error.message}, writes=False)

    def reconcile_batch(self, token, items, error):
        """The batch may or may not have been saved: ask the target by the dedupe field, adopt what exists."""
        records = [SyncRecord(pk=item.record_id, source_key=item.key, claim=token) for item in items]
        try:
            adopted, _released = ledger.reconcile(self.run, self.target, records, via=self.via)
            self.run.adopted_count += adopted
        except RemoteError as again:
            self.run.error = "\n".join(filter(None, [self.run.error, gettext(
                "A batch of %(count)d records may not have been saved (%(first)s), and the target could not be "
                "asked (%(second)s): the next run reconciles them.") % {
                "count": len(items), "first": error.message, "second": again.message}]))
        for item in items:
            self.latencies.append(time.monotonic() - item.started)
            self.run.done += 1

    def on_write_crashed(self, token, items, error):
        self.writing -= 1
        self.run.done += len(items)
        self.on_crashed(error)

    # ---- lease ----------------------------------------------------------------------------

    def maybe_renew(self):
        """Progress for the admin's bar every few seconds; the lease itself is renewed by `ledger.LeaseKeeper`."""
        if time.monotonic() - self.last_renewal < RENEW_EVERY:
            return
        self.last_renewal = time.monotonic()
        ledger.store_progress(self.run)
        if self.lease is not None and self.lease.lost.is_set() and not self.lost:
            self.lost = True
            self.stop(gettext("This run lost its lease (another worker took the scheme over)."), writes=False)
