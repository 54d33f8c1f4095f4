"""The first matching's proposals: customers found on one side only, created on the other side once a person
approved them (one page, bulk approve). Approving makes the record pending; the next run creates it (after
looking again by tax number and name, so a customer paired meanwhile is paired, not created twice)."""

import json

from django.db import transaction
from django.utils import timezone

from integrations.models import SyncRecord

Status = SyncRecord.Status
AWAITING = "awaiting_approval"


def proposed(scheme):
    return SyncRecord.objects.filter(scheme=scheme, status=Status.WAITING, reason_code=AWAITING).order_by(
        "reason_params__side", "title", "id")


def rows(scheme):
    """The proposals as the approval page lists them: where it will be created, name, tax number, phone."""
    found = []
    for record in proposed(scheme):
        data = record.source_data or {}
        side = (record.reason_params or {}).get("side", "")
        if side == "kingdee":  # a DingTalk customer, to create in Kingdee
            tax, phone = data.get("credit_code", ""), data.get("phone", "")
        else:
            tax, phone = data.get("FSOCIALCRECODE", ""), data.get("FTEL", "")
        found.append({"id": record.pk, "side": side, "title": record.title, "tax": tax, "phone": phone,
                      "number": record.target_number if side == "dingtalk" else ""})
    return found


@transaction.atomic
def approve(scheme, record_ids, *, user):
    """Approve these proposals (all of them with `record_ids=None`); returns how many."""
    records = proposed(scheme).select_for_update()
    if record_ids is not None:
        records = records.filter(pk__in=record_ids)
    # One update per proposal state (a proposal's state is only the side it is created in), not one per customer.
    by_state = {}
    for pk, state in records.values_list("pk", "synced_state"):
        state = {**(state or {}), "approved": True}
        by_state.setdefault(json.dumps(state, sort_keys=True), (state, []))[1].append(pk)
    approved, now = 0, timezone.now()
    for state, pks in by_state.values():
        approved += SyncRecord.objects.filter(pk__in=pks, status=Status.WAITING).update(
            status=Status.PENDING, synced_state=state, reason_code="", reason_params={}, error="",
            handled_by=user, handled_at=now, updated_at=now)
    return approved
