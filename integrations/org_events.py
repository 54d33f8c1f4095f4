"""DingTalk's org events (callback and Stream) feeding the org-sync schemes, and the identity map kept in step.

`integrations.events` keeps every event once per event id and hands the org ones here (`decide`). An event
only names ids (`userId[]`, `deptId[]`, several at once after a bulk edit); the schemes reading DingTalk
contacts on events get a pending ledger row per id and a sync of those keys after the commit, so a lost job
is picked up by the scheme's next comparison. A department sync is followed by another try of the people
waiting for a department that did not exist yet (a joiner's event can arrive before their department's).

`settle_people` is the org sync's word to the identity map: a joiner gets a row (when the scheme says so), a
re-hire's row is enabled again, a leaver's is disabled — single sign-on refuses them from then on.
"""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from integrations import engine, identity
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
        reason = gettext("The event names no user or department.") if not keys else gettext(
            "No enabled scheme reads DingTalk contacts (%(records)s) on events.") % {"records": records}
        return _settle(event, Outcome.IGNORED, reason)
    for scheme in schemes:
        SyncRecord.objects.bulk_create([SyncRecord(scheme=scheme, source_key=key, status=Status.PENDING)
                                        for key in keys], ignore_conflicts=True)
        SyncRecord.objects.filter(scheme=scheme, source_key__in=keys).exclude(
            status__in=(Status.WRITING, Status.CONFLICT)).update(status=Status.PENDING)
        enqueue(scheme, keys, event.pk)
    event.scheme = schemes[0]
    return _settle(event, Outcome.QUEUED, "")


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
                    run.error if run else "", run=run)
    if scheme.source_params.get("records") == "departments":
        for people in listening_schemes(scheme.source_connection, "users"):
            waiting = list(SyncRecord.objects.filter(scheme=people, status=Status.WAITING)
                           .values_list("source_key", flat=True)[:500])
            if waiting:
                engine.sync_keys(people.pk, waiting, trigger=Trigger.EVENT)
    return f"run {run.pk if run else '-'}: {len(keys)} key(s)"


def _settle(event, outcome, reason="", **links):
    event.outcome, event.reason, event.processed_at = outcome, reason, timezone.now()
    for name, value in links.items():
        setattr(event, name, value)
    event.save(update_fields=["outcome", "reason", "processed_at", "instance_id", "scheme", *links])
    return event


# --- the identity map ------------------------------------------------------------------------


def settle_people(scheme, settled):
    """After a batch of a people scheme, inside the ledger's transaction: `settled` is a list of (data, action,
    outcome) with action a `Change` action or "remove". Joiners get an identity row when the scheme's source
    says `identity_rows`; re-hires are enabled; leavers are disabled."""
    if scheme.source_kind != CONTACTS or scheme.source_params.get("records", "users") != "users":
        return
    leavers, returning = [], []
    for data, action, outcome in settled:
        if not outcome.ok:
            continue
        if action == "remove":
            leavers.append(data["userid"])
        elif action in ("create", "enable"):
            returning.append(data["userid"])
            if scheme.source_params.get("identity_rows"):
                identity.join(data["userid"], staff_number=outcome.number or data.get("staff_number", ""),
                              name=data.get("name", ""), unionid=data.get("unionid", ""),
                              mobile=data.get("mobile", ""),
                              kingdee_username=(outcome.response or {}).get("kingdee_username", ""))
    if leavers:
        identity.set_active(leavers, False)
    if returning:
        identity.set_active(returning, True)


# --- conflicts: DingTalk is master, a Kingdee-local edit needs a person -------------------------------


def conflicts_of(record):
    """{field: {"source", "target", "written"}} of a conflicting record (the plan's `Change.conflicts`)."""
    return (record.reason_params or {}).get("conflicts") or {}


KEEP_DINGTALK, KEEP_KINGDEE = "dingtalk", "kingdee"


def keep(record_id, side, user):
    """A person's decision on a conflict. "dingtalk": the next sync overwrites Kingdee's values with DingTalk's.
    "kingdee": Kingdee's values stay and those fields are not overwritten for this record until cleared.
    Returns the updated record, or None when it is no longer a conflict."""
    with transaction.atomic():
        record = SyncRecord.objects.select_for_update().filter(pk=record_id, status=Status.CONFLICT).first()
        if record is None:
            return None
        conflicts = conflicts_of(record)
        state = dict(record.synced_state or {})
        # What Kingdee holds now becomes the baseline: it is no longer "changed since the portal wrote it".
        state["target"] = {**(state.get("target") or {}), **{f: v["target"] for f, v in conflicts.items()}}
        if side == KEEP_KINGDEE:
            state["kept"] = sorted(set(state.get("kept") or []) | set(conflicts))
        record.synced_state, record.fingerprint = state, ""
        record.status = Status.PENDING if side == KEEP_DINGTALK else Status.SUCCEEDED
        record.handled_by, record.handled_at = user, timezone.now()
        record.note = (gettext("Kept DingTalk's values of %(fields)s.") if side == KEEP_DINGTALK else
                       gettext("Kept Kingdee's values of %(fields)s.")) % {"fields": ", ".join(sorted(conflicts))}
        record.save(update_fields=["synced_state", "fingerprint", "status", "handled_by", "handled_at", "note",
                                   "updated_at"])
        if side == KEEP_DINGTALK:
            enqueue(record.scheme, [record.source_key])
    return record


def clear_kept(record_id, user):
    """DingTalk's values are written again for the fields a person chose to keep (or a conflict follows)."""
    with transaction.atomic():
        record = SyncRecord.objects.select_for_update().get(pk=record_id)
        state = dict(record.synced_state or {})
        kept = state.pop("kept", [])
        record.synced_state, record.fingerprint, record.status = state, "", Status.PENDING
        record.handled_by, record.handled_at = user, timezone.now()
        record.note = gettext("DingTalk's values apply again to %(fields)s.") % {"fields": ", ".join(kept) or "—"}
        record.save(update_fields=["synced_state", "fingerprint", "status", "handled_by", "handled_at", "note",
                                   "updated_at"])
        enqueue(record.scheme, [record.source_key])
    return record
