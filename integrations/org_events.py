"""DingTalk's org events (callback and Stream) feeding the org-sync schemes, and the identity map kept in step.

`integrations.events` keeps every event once per event id and hands the org ones here (`decide`). An event
only names ids (`userId[]`, `deptId[]`, several at once after a bulk edit); the schemes reading DingTalk
contacts on events get a pending ledger row per id and a sync of those keys after the commit, so a lost job
is picked up by the scheme's next comparison. A department sync is followed by another try of the people
waiting for a department that did not exist yet (a joiner's event can arrive before their department's).

A person settles a conflict (`keep`): DingTalk's values overwrite Kingdee's, or Kingdee's are kept for those
fields of that person until cleared (`clear_kept`); the sync of the key follows at once.
"""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from integrations import engine, reasons
from integrations.models import DingTalkEvent, Scheme, SyncRecord, Trigger

logger = logging.getLogger("integrations.org_events")
Outcome = DingTalkEvent.Outcome
Status = SyncRecord.Status
CONTACTS = "dingtalk.contacts"
USER_EVENTS = ("user_add_org", "user_modify_org", "user_leave_org", "user_active_org")
DEPT_EVENTS = ("org_dept_create", "org_dept_modify", "org_dept_remove")
TASK = "integrations.org_events.sync_org_keys"


def handles(event_type):
    return event_type in USER_EVENTS or event_type in DEPT_EVENTS


def ids_of(body, event_type):
    """The ids an org event names: `userId`/`deptId` (or the old `UserId`/`DeptId`), one or several."""
    names = ("userId", "UserId") if event_type in USER_EVENTS else ("deptId", "DeptId")
    value = next((body[name] for name in names if body.get(name) not in (None, "", [])), [])
    return [str(item) for item in (value if isinstance(value, list) else [value]) if str(item).strip()]


def listening_schemes(connection, records):
    schemes = Scheme.objects.filter(enabled=True, event_trigger=True, source_connection=connection,
                                    source_kind=CONTACTS)
    return [scheme for scheme in schemes if scheme.source_params.get("records", "users") == records]


def decide(event, connection, incoming):
    """Called by `events.receive` inside its transaction for an org event."""
    keys = ids_of(incoming.body, event.event_type)
    records = "users" if event.event_type in USER_EVENTS else "departments"
    schemes = listening_schemes(connection, records)
    event.instance_id = ",".join(keys)[:128]
    if not keys or not schemes:
        why = reasons.because("event_no_people") if not keys else reasons.because("event_no_contacts_scheme",
                                                                                   records=records)
        return _settle(event, Outcome.IGNORED, why)
    for scheme in schemes:
        SyncRecord.objects.bulk_create([SyncRecord(scheme=scheme, source_key=key, status=Status.PENDING)
                                        for key in keys], ignore_conflicts=True)
        SyncRecord.objects.filter(scheme=scheme, source_key__in=keys).exclude(
            status__in=(Status.WRITING, Status.CONFLICT)).update(status=Status.PENDING)
        enqueue(scheme, keys, event.pk)
    event.scheme = schemes[0]
    return _settle(event, Outcome.QUEUED)


def enqueue(scheme, keys, event_id=None):
    from django_q.tasks import async_task

    name = f"scheme {scheme.pk} org event {keys[0] if len(keys) == 1 else len(keys)}"
    transaction.on_commit(lambda: async_task(TASK, scheme.pk, keys, event_id, task_name=name[:100],
                                             group=f"scheme-{scheme.pk}"))


def sync_org_keys(scheme_id, keys, event_id=None):
    """The worker's side: sync the keys; after departments, try again the people waiting for one."""
    run = engine.sync_keys(scheme_id, keys, trigger=Trigger.EVENT)
    scheme = Scheme.objects.get(pk=scheme_id)
    if event_id:
        event = DingTalkEvent.objects.filter(pk=event_id).first()
        if event is not None:
            _settle(event, Outcome.BOOKED if run and not run.failed_count else Outcome.NOT_BOOKED,
                    reasons.as_run_says(run) if run else None, run=run)
    if scheme.source_params.get("records") == "departments":
        for people in listening_schemes(scheme.source_connection, "users"):
            waiting = list(SyncRecord.objects.filter(scheme=people, status=Status.WAITING)
                           .values_list("source_key", flat=True)[:500])
            if waiting:
                engine.sync_keys(people.pk, waiting, trigger=Trigger.EVENT)
    return f"run {run.pk if run else '-'}: {len(keys)} key(s)"


def _settle(event, outcome, why=None, **links):
    event.outcome, event.processed_at = outcome, timezone.now()
    fields = {"reason": "", "reason_code": "", "reason_params": {}, **(why or {}), **links}
    for name, value in fields.items():
        setattr(event, name, value)
    event.save(update_fields=["outcome", "processed_at", "instance_id", "scheme", *fields])
    return event


# --- conflicts: DingTalk is master, a Kingdee-local edit needs a person -------------------------------


FIELD_LABELS = {
    "FName": _("name"), "FMobile": _("mobile"), "FEmail": _("e-mail"), "FParentID": _("parent department"),
    "FPostEntity.FPostDept": _("department"), "FPostEntity.FPost": _("post"),
}


def field_label(name):
    """“mobile (FMobile)”: the caption a person reads, with the Kingdee key for whoever checks in Kingdee."""
    label = FIELD_LABELS.get(name)
    return f"{label}（{name}）" if label else name


def conflicts_of(record):
    """{field: {"source", "target", "written"}} of a conflicting record (the plan's `Change.conflicts`)."""
    return (record.reason_params or {}).get("fields") or {}


KEEP_DINGTALK, KEEP_KINGDEE = "dingtalk", "kingdee"
KEEP = {KEEP_DINGTALK: "source", KEEP_KINGDEE: "target"}


def keep(record_id, side, user):
    """A person's decision on a conflict: "dingtalk" writes DingTalk's values over Kingdee's; "kingdee" keeps
    Kingdee's and stops writing those fields for this person until cleared. Returns the record, or None when it
    is no longer a conflict."""
    with transaction.atomic():
        record = SyncRecord.objects.select_for_update().filter(pk=record_id, status=Status.CONFLICT).first()
        if record is None:
            return None
        fields = "、".join(field_label(name) for name in sorted(conflicts_of(record)))
        note = (gettext("Kept DingTalk's values of %(fields)s.") if side == KEEP_DINGTALK else
                gettext("Kept Kingdee's values of %(fields)s.")) % {"fields": fields}
        engine.resolve_conflicts([record.pk], keep=KEEP[side], user=user, note=note)
        enqueue(record.scheme, [record.source_key])
    record.refresh_from_db()
    return record


def clear_kept(record_id, user):
    """DingTalk's values are written again for the fields a person chose to keep (or a conflict follows)."""
    with transaction.atomic():
        record = SyncRecord.objects.select_for_update().get(pk=record_id)
        state = dict(record.synced_state or {})
        kept = state.pop("kept", [])
        record.synced_state, record.fingerprint, record.status = state, "", Status.PENDING
        record.handled_by, record.handled_at = user, timezone.now()
        record.note = gettext("DingTalk's values apply again to %(fields)s.") % {
            "fields": "、".join(field_label(name) for name in kept) or "—"}
        record.save(update_fields=["synced_state", "fingerprint", "status", "handled_by", "handled_at", "note",
                                   "updated_at"])
        enqueue(record.scheme, [record.source_key])
    return record
