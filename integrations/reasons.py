"""Why a record is where it is, as data: a code and its parameters, rendered for the reader.

The worker stores `SyncRecord.reason_code` and `reason_params` (field, source path, value, the remote's own
message verbatim …), never translated text; pages render them in the viewer's language, with a person's name
where a parameter is a DingTalk user id. `SyncRecord.error` keeps the remote's own words, or the reason in
English, for search and for readers that do not know codes; records stored before codes existed have only it.
"""

from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext, gettext_lazy as _, gettext_noop

from integrations import mapping


@dataclass(frozen=True)
class Reason:
    template: object  # a gettext_lazy string with %(name)s parameters
    people: tuple = ()  # parameters that are DingTalk user ids: shown as names


REASONS = {
    # The source's verdict.
    "not_approved_yet": Reason(_("Not approved yet (status %(status)s).")),
    "refused": Reason(_("Refused in DingTalk.")),
    "withdrawn": Reason(_("Withdrawn or terminated in DingTalk.")),
    "cancelled": Reason(_("Cancelled in DingTalk.")),
    "not_approved": Reason(_("Not approved (status %(status)s, result %(result)s).")),
    "replacement": Reason(_(
        "This approval replaces an approved one (biz_action %(action)s); check the bill of the original before "
        "booking it by hand, then mark this record handled.")),
    "removed_at_source": Reason(_("Removed at the source.")),
    # Reading and writing: the remote's own words.
    "source_unreadable": Reason(_("The source could not return this record: %(message)s")),
    "target_refused": Reason(_("%(message)s")),
    "transient": Reason(_("Network or server trouble (tried again on the next run): %(message)s")),
    "configuration": Reason(_("The connection was refused (credentials, permissions or quota): %(message)s")),
    "lost_attempt": Reason(_("An earlier write attempt did not reach the target; it will be written again.")),
    "outcome_unknown": Reason(_("The target did not answer whether it saved this record and does not show it yet; "
                                "it is checked again before anything is written.")),
    "follow_up_failed": Reason(_("Saved, but %(step)s failed: %(message)s")),
    "several_in_target": Reason(_("The target holds %(count)s bills for this record: %(numbers)s.")),
    # Master data.
    "dependency": Reason(_("Waits for %(keys)s, which failed or waits itself.")),
    "dependency_missing": Reason(_("A record it depends on is not in the target yet: %(message)s")),
    "conflict": Reason(_("Changed in the target since the portal wrote it: %(fields)s.")),
    # Two-way (customers: DingTalk CRM ⇄ Kingdee).
    "twoway_conflict": Reason(_("Changed on both sides since the last sync: %(fields)s.")),
    "non_master_edit": Reason(_("Changed on the side that is not master, held for a person: %(fields)s.")),
    "ambiguous_match": Reason(_("Several customers on the other side could be this one (%(numbers)s): pair them by "
                                "hand, then mark this record handled.")),
    "awaiting_approval": Reason(_("Found on one side only: created on the other side once a person approves it.")),
    # The org sync (DingTalk contacts → Kingdee departments and employees).
    "out_of_scope": Reason(_("Not in the scheme's scope.")),
    "department_has_employees": Reason(_(
        "Removed in DingTalk, but %(count)d enabled employees in Kingdee still belong to department %(number)s; "
        "move or forbid them, then mark this record handled.")),
    # Accounting (vouchers, closed periods, attachments).
    "period_closed": Reason(_("Waits for the accounting period %(period)s to open in Kingdee (booked automatically "
                              "then): %(message)s")),
    "voucher_unbalanced": Reason(_("The voucher does not balance: debit %(debit)s, credit %(credit)s; nothing was "
                                   "written.")),
    "attachment_failed": Reason(_("The attachment “%(file)s” could not be carried over (%(message)s); nothing was "
                                  "kept in Kingdee, the record is written again when retried.")),
    "attachment_failed_bill_kept": Reason(_(
        "Bill %(number)s was saved but the attachment “%(file)s” could not be bound (%(message)s), and the bill "
        "could not be deleted again: attach the file by hand, then mark this record handled.")),
    # A run's own reasons (SyncRun.reasons): why it stopped or what it could not do.
    "run_abandoned": Reason(_("The worker stopped renewing its lease (killed or frozen); the next run reconciled "
                              "its work.")),
    "run_unreconciled": Reason(_("Could not reconcile %(count)d records: %(message)s")),
    "connection_disabled": Reason(_("The connection “%(name)s” is disabled.")),
    "lost_key": Reason(_("Connection “%(name)s”: %(fields)s cannot be decrypted with the current FERNET_KEYS. "
                         "Add the old key back at the end of FERNET_KEYS, or enter these secrets again and save.")),
    "unexpected_error": Reason(_("Unexpected error: %(error)s")),
    "stopped_on_request": Reason(_("Stopped on request; the rest is picked up by the next run.")),
    "lease_lost": Reason(_("This run lost its lease (another worker took the scheme over).")),
    "listing_failed": Reason(_("Listing the source failed: %(message)s")),
    "reading_failed": Reason(_("Reading the source failed: %(message)s")),
    "writing_failed": Reason(_("Writing to the target failed: %(message)s")),
    "notifying_failed": Reason(_("Notifying the originators failed: %(message)s")),
    "batch_unreconciled": Reason(_(
        "A batch of %(count)d records may not have been saved (%(first)s), and the target could not be asked "
        "(%(second)s): the next run reconciles them.")),
    "master_rule_unsigned": Reason(_("The master rule of %(fields)s is not signed: IT signs it on the scheme's "
                                     "master rules page before the sync writes anything.")),
    "remote_failed": Reason(_("%(message)s")),
    # What became of a DingTalk event (DingTalkEvent.reason_code); "run_reasons" carries a run's own reasons.
    "event_url_check": Reason(_("The callback URL check, answered with success.")),
    "event_not_approved": Reason(_("Only approved instances (finish/agree) are booked.")),
    "event_no_instance": Reason(_("The event names no instance or process code; the scheme's polling books the "
                                  "instance.")),
    "event_no_scheme": Reason(_("No enabled scheme books process code %(code)s on events.")),
    "event_duplicate": Reason(_("Delivered again: event %(id)s was received before.")),
    "event_scheme_stopped": Reason(_("The scheme stopped booking on events before this one ran.")),
    "event_booked_before": Reason(_("Booked before as bill %(number)s.")),
    "event_being_written": Reason(_("Another run is writing this instance; see its record.")),
    "event_no_people": Reason(_("The event names no user or department.")),
    "event_no_contacts_scheme": Reason(_("No enabled scheme reads DingTalk contacts (%(records)s) on events.")),
    "callback_refused": Reason(_("%(message)s")),
}
STEPS = {"submit": _("submit"), "audit": _("audit")}


def render(code, params, names=None):
    """The reason in the active language; `names` maps DingTalk user ids to people's names."""
    params, names = dict(params or {}), names or {}
    if code == "mapping":
        return "\n".join(_mapping_cell(cell, names) for cell in params.get("cells") or [])
    reason = REASONS.get(code)
    if reason is None:
        return ""
    for name in reason.people:
        if name in params:
            params[name] = names.get(params[name]) or params[name]
    if code == "follow_up_failed":
        params["step"] = STEPS.get(params.get("step"), params.get("step"))
    if code in ("twoway_conflict", "non_master_edit"):
        suggestions = {"source": gettext("keep DingTalk's"), "target": gettext("keep Kingdee's")}
        params["fields"] = "; ".join(
            gettext("%(field)s: DingTalk “%(source)s”, Kingdee “%(target)s”") % {
                "field": values.get("label") or field, "source": values.get("source"), "target": values.get("target")}
            + (gettext(" (the master rule suggests: %(side)s)") % {"side": suggestions[values["suggestion"]]}
               if values.get("suggestion") in suggestions else "")
            for field, values in (params.get("fields") or {}).items())
    if code == "ambiguous_match":
        params["numbers"] = ", ".join(params.get("numbers") or [])
    if code == "conflict":
        params["fields"] = "; ".join(
            gettext("%(field)s: source “%(source)s”, target “%(target)s”") % {
                "field": field, "source": values.get("source"), "target": values.get("target")}
            for field, values in (params.get("fields") or {}).items())
    if code == "lost_key":
        params["fields"] = ", ".join(_field_names(params.get("model"), params.get("fields") or []))
    if code == "dependency":
        params["keys"] = ", ".join(params.get("keys") or [])
    template = str(reason.template)
    try:
        return template % params if "%(" in template else template
    except (KeyError, TypeError, ValueError):
        return template


def _field_names(model_label, names):
    from django.apps import apps  # the registry is ready whenever a reason is rendered

    try:
        model = apps.get_model(model_label)
        return [str(model._meta.get_field(name).verbose_name) for name in names]
    except (LookupError, ValueError, TypeError):
        return list(names)


def in_english(code, params):
    with translation.override("en"):
        return render(code, params)


def _mapping_cell(cell, names):
    params = dict(cell.get("params") or {})
    if "userid" in params:
        params["userid"] = names.get(params["userid"]) or params["userid"]
    error = mapping.MappingError(cell.get("message") or gettext_noop("Unexpected error: %(error)s"), **params)
    value = cell.get("value")
    if value is not None and str(value) in names:
        value = names[str(value)]
    return mapping.Cell(cell.get("target", ""), cell.get("source", ""), value, error=error).render_error(gettext)


def mapping_params(result):
    """A failed mapping as reason parameters: per failing cell its field, source path, value and message."""
    return {"cells": [{"target": cell.target, "source": cell.source, "value": _plain(cell.source_value),
                       "message": cell.error.message, "params": {k: _plain(v) for k, v in cell.error.params.items()}}
                      for cell in result.errors]}


def _plain(value):
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def describe(record, names=None):
    """A record's reason for its reader: rendered from its code, or its stored text (older records)."""
    names = dict(names or {})
    originator_name = getattr(record, "originator_name", None)
    if record.originator and originator_name:
        names.setdefault(record.originator, originator_name)
    text = render(record.reason_code, record.reason_params, names) if record.reason_code else ""
    return text or record.error or ""


def run_reason(code, **params):
    """One of a run's reasons as stored in `SyncRun.reasons` (plain values only: never translated text)."""
    return {"code": code, "params": {name: _plain(value) if not isinstance(value, list) else value
                                     for name, value in params.items()}}


def because(code, /, **params):
    """A reason as the fields of a row that keeps one (reason in English for search, code and plain params)."""
    params = {name: _plain(value) if not isinstance(value, (list, dict)) else value for name, value in params.items()}
    return {"reason": in_english(code, params), "reason_code": code, "reason_params": params}


def as_record_says(record):
    """The record's own reason as the fields of an event about it."""
    return {"reason": record.error or "", "reason_code": record.reason_code or "",
            "reason_params": record.reason_params or {}}


def as_run_says(run):
    """A run's reasons as the fields of an event about it."""
    return {"reason": run.error or "", "reason_code": "run_reasons" if run.reasons else "",
            "reason_params": {"reasons": run.reasons} if run.reasons else {}}


def describe_event(event, names=None):
    """What became of a DingTalk event, for its reader: from its code, or its stored text (older events)."""
    code, params = event.reason_code, event.reason_params or {}
    if code == "run_reasons":
        text = "\n".join(filter(None, (render(entry.get("code"), entry.get("params"), names)
                                       for entry in params.get("reasons") or [])))
    else:
        text = render(code, params, names) if code else ""
    return text or event.reason or ""


def describe_run(run):
    """A run's reasons for its reader, one a line: rendered from their codes, or its stored text (older runs)."""
    lines = [render(entry.get("code"), entry.get("params")) for entry in (getattr(run, "reasons", None) or [])]
    text = "\n".join(line for line in lines if line)
    return text or run.error or ""
