"""DingTalk events, by HTTP callback or Stream: kept, deduplicated by event id, turned into drains of their scheme.

An event is only a hint to look at one instance: the sync re-reads the instance and the ledger keeps one
bill per instance, so a repeated, late or out-of-order event books nothing twice and nothing unapproved.
Receiving writes the event row and, for an approved claim, the instance's pending ledger row, then asks for a
drain of the scheme after the commit (at most one waits in the queue per scheme: `queue.request_drain`). The drain
is one run that reads every pending record no live run is reading, so events arriving together are booked
together, and it settles every queued event whose record is done. An event whose record is still pending (its
read failed for a passing reason) stays queued: `engine.sweep` (every minute) drains its scheme again, as it
does for a dead worker's records once the dead run's lease expired; the scheme's polling would find them too.
"""

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from integrations import engine, org_events, queue, reasons
from integrations.models import DingTalkEvent, Scheme, SyncRecord, Trigger

Outcome = DingTalkEvent.Outcome
Status = SyncRecord.Status
ErrorKind = SyncRecord.ErrorKind
INSTANCE_CHANGE = "bpms_instance_change"
APPROVAL_SOURCE = "dingtalk.approval"


@dataclass(frozen=True)
class Incoming:
    channel: str
    event_id: str
    event_type: str
    body: dict
    signature: str = ""
    remote_addr: str | None = None

    def get(self, *names):
        for name in names:
            if self.body.get(name) not in (None, ""):
                return str(self.body[name])
        return ""


def from_callback(message, signature="", remote_addr=None):
    """A decrypted HTTP push: the envelope (EventType, eventId …) and the event's fields in one object."""
    event_id = message.get("eventId") or message.get("EventId") or _fingerprint(message)
    return Incoming(DingTalkEvent.Channel.CALLBACK, str(event_id), str(message.get("EventType") or ""), message,
                    signature, remote_addr)


def from_stream(headers, data):
    """A Stream EVENT frame: the envelope is in the headers, the event's fields in `data`."""
    data = data if isinstance(data, dict) else {}
    return Incoming(DingTalkEvent.Channel.STREAM, str(headers.event_id or _fingerprint(data)),
                    str(headers.event_type or ""), data)


def _fingerprint(body):
    """Old pushes carry no event id: identical bodies are the same event."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return "sha1:" + hashlib.sha1(text.encode()).hexdigest()


def receive(connection, incoming):
    """Keep the event once per event id; for an approved instance of an event-driven scheme, note it in the
    ledger and ask for a drain of the scheme after the commit. Returns the kept DingTalkEvent.

    The outcome is decided before the event is kept, so most events cost one INSERT: half of DingTalk's pushes
    (task changes, starts) are ignored, and an approval is kept already queued."""
    with transaction.atomic():
        if org_events.handles(incoming.event_type):
            event = _keep(connection, incoming)
            if event.outcome == Outcome.RECEIVED:
                org_events.decide(event, connection, incoming)
            return event
        why = _ignored_because(incoming)
        # Their ids only: a pk is all the event, the ledger row and the drain need (a whole scheme is several JSON
        # columns to decode, on every push).
        schemes = [] if why else [Scheme(pk=pk) for pk in listening_schemes(
            connection, incoming.get("processCode")).values_list("pk", flat=True)]
        if not (why or schemes):
            why = reasons.because("event_no_scheme", code=incoming.get("processCode"))
        if why:
            return _keep(connection, incoming, outcome=Outcome.IGNORED, processed_at=timezone.now(), **why)
        event = _keep(connection, incoming, outcome=Outcome.QUEUED, scheme=schemes[0])
        if event.outcome == Outcome.QUEUED:
            for scheme in schemes:
                note_in_ledger(scheme, event.instance_id)
                queue.request_drain(scheme)
    return event


def _ignored_because(incoming):
    """Why an event is kept without anything to do (`reasons.because` fields), or None when it names an approved
    instance."""
    if incoming.event_type == "check_url":
        return reasons.because("event_url_check")
    if incoming.event_type != INSTANCE_CHANGE or (incoming.get("type"), incoming.get("result")) != ("finish", "agree"):
        return reasons.because("event_not_approved")
    if not incoming.get("processInstanceId") or not incoming.get("processCode"):
        return reasons.because("event_no_instance")
    return None


def reject(connection, channel, why, signature="", remote_addr=None):
    """A delivery that failed verification is recorded too (`why`: `reasons.because` fields), nothing enqueued."""
    return DingTalkEvent.objects.create(connection=connection, channel=channel, outcome=Outcome.REJECTED,
                                        signature=signature[:64], remote_addr=remote_addr,
                                        processed_at=timezone.now(), **why)


def _keep(connection, incoming, **decided):
    """The event, with the outcome already decided; a repeat of a kept event id is kept as a duplicate."""
    fields = {
        "connection": connection, "channel": incoming.channel, "event_id": incoming.event_id[:100],
        "event_type": incoming.event_type[:60], "change": "/".join(filter(None, [incoming.get("type"),
                                                                                 incoming.get("result")]))[:40],
        "instance_id": incoming.get("processInstanceId")[:128], "process_code": incoming.get("processCode")[:100],
        "body": incoming.body, "signature": incoming.signature[:64], "remote_addr": incoming.remote_addr,
    }
    try:
        with transaction.atomic():
            return DingTalkEvent.objects.create(**fields, **decided)
    except IntegrityError:  # this event id was kept before: keep the repeat as a duplicate of it
        first = (DingTalkEvent.objects.filter(connection=connection, event_id=fields["event_id"])
                 .exclude(outcome=Outcome.DUPLICATE).first())
        return DingTalkEvent.objects.create(
            **fields, outcome=Outcome.DUPLICATE, duplicate_of=first, processed_at=timezone.now(),
            **reasons.because("event_duplicate", id=fields["event_id"]))


def listening_schemes(connection, process_code):
    return Scheme.objects.filter(enabled=True, event_trigger=True, source_connection=connection,
                                 source_kind=APPROVAL_SOURCE, source_params__process_code=process_code)


def note_in_ledger(scheme, key):
    """A pending ledger row, as the engine writes for a listed key (a waiting one is pending again: the event
    says the approval finished). If the queued task is lost, the sweep or the next polling run books it."""
    SyncRecord.objects.bulk_create([SyncRecord(scheme=scheme, source_key=key, status=Status.PENDING)],
                                   ignore_conflicts=True)
    SyncRecord.objects.filter(scheme=scheme, source_key=key, status=Status.WAITING).update(
        status=Status.PENDING, source_data=None, updated_at=timezone.now())  # read it again, not as it was


def _settle(event, outcome, why=None, **links):
    event.outcome, event.processed_at = outcome, timezone.now()
    for name, value in {**NO_REASON, **(why or {}), **links}.items():
        setattr(event, name, value)
    event.save(update_fields=["outcome", "processed_at", *NO_REASON, *links])
    return event


def drain(scheme_id, *, trigger=Trigger.EVENT):
    """The worker's side: book the scheme's pending records that no live run is reading (re-read, judged, booked
    at most once) in one run, then settle every queued event whose record is done. Returns the run, or None."""
    queue.drain_started(scheme_id)  # before the ledger is read: a later event asks for a drain of its own
    scheme = Scheme.objects.filter(pk=scheme_id).first()
    if scheme is None:
        return None
    run = engine.sync_pending(scheme.pk, trigger=trigger) if scheme.enabled else None
    settle_queued(scheme, run)
    return run


def process(event_id, scheme_id):
    """One event's task, as earlier versions enqueued them: a drain of its scheme, then the event as it stands."""
    event = DingTalkEvent.objects.get(pk=event_id)
    scheme = Scheme.objects.filter(pk=scheme_id).first()
    if scheme is None or not (scheme.enabled and scheme.event_trigger):
        return _settle(event, Outcome.IGNORED, reasons.because("event_scheme_stopped"))
    if event.outcome == Outcome.QUEUED:
        drain(scheme.pk)
    event.refresh_from_db()
    return event


NO_REASON = {"reason": "", "reason_code": "", "reason_params": {}}
SETTLED_FIELDS = ["outcome", *NO_REASON, "processed_at", "record", "run"]


def settle_queued(scheme, run=None):
    """Each queued event of the scheme gets the outcome its record now shows, unless its record is still to be
    booked: read by a live run, or pending again after a read that failed for a passing reason (the next drain,
    or the sweep's, books it). A scheme switched off lets its queued events go as ignored."""
    queued = list(DingTalkEvent.objects.filter(scheme=scheme, outcome=Outcome.QUEUED))
    if not queued:
        return
    records = {record.source_key: record for record in SyncRecord.objects.filter(
        scheme=scheme, source_key__in=[event.instance_id for event in queued]).select_related("run")}
    now, settled = timezone.now(), []
    for event in queued:
        record = records.get(event.instance_id)
        if not scheme.enabled:
            outcome, why = Outcome.IGNORED, reasons.because("event_scheme_stopped")
        elif record is not None and to_be_booked(record, run):
            continue
        else:
            outcome, why = result_of(record, run, event)
        event.outcome, event.processed_at = outcome, now
        for name, value in {**NO_REASON, **why}.items():
            setattr(event, name, value)
        event.record, event.run = record, record.run if record is not None and record.run else run
        settled.append(event)
    DingTalkEvent.objects.bulk_update(settled, SETTLED_FIELDS, batch_size=200)  # one statement, not one each


def to_be_booked(record, run=None):
    """Still on its way: read by a live run, or pending and free for the next drain (noted after this run began,
    or its read failed for a passing reason). A record a failed run never reached is not: the run says why."""
    if in_flight(record):
        return True
    failed = run is not None and run.status == run.Status.FAILED
    return record.status == Status.PENDING and record.error_kind in ("", ErrorKind.TRANSIENT) and not failed


def in_flight(record):
    alive = record.run is not None and record.run.status == record.run.Status.RUNNING and (
        record.run.lease_expires_at is not None and record.run.lease_expires_at >= timezone.now())
    return record.status == Status.WRITING or (record.status == Status.PENDING and bool(record.claim) and alive)


def result_of(record, run, event=None):
    """(outcome, `reasons.because` fields) of an event whose record is done."""
    if record is None:
        return Outcome.NOT_BOOKED, reasons.as_run_says(run) if run else {}
    if record.status == Status.SUCCEEDED:
        if event is not None and record.booked_at and record.booked_at >= event.received_at:
            return Outcome.BOOKED, {}
        return Outcome.ALREADY_BOOKED, reasons.because("event_booked_before", number=record.target_number)
    if record.status == Status.WRITING:
        return Outcome.NOT_BOOKED, reasons.because("event_being_written")
    if record.reason_code or record.error or run is None:
        return Outcome.NOT_BOOKED, reasons.as_record_says(record)
    return Outcome.NOT_BOOKED, reasons.as_run_says(run)


def booked_by_channel(scheme=None):
    """{booked_via: number of bills}: how many came by event, by polling, by retry …"""
    records = SyncRecord.objects.filter(status=Status.SUCCEEDED)
    if scheme is not None:
        records = records.filter(scheme=scheme)
    return dict(records.values_list("booked_via").annotate(n=Count("id")).values_list("booked_via", "n"))
