"""The first matching's proposals: customers found on one side only, created on the other side once a person
approved them (one page, bulk approve). Approving makes the record pending; the next run creates it (after
looking again by tax number and name, so a customer paired meanwhile is paired, not created twice)."""

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
    approved = 0
    for record in records:
        state = dict(record.synced_state or {})
        state["approved"] = True
        approved += SyncRecord.objects.filter(pk=record.pk, status=Status.WAITING).update(
            status=Status.PENDING, synced_state=state, reason_code="", reason_params={}, error="",
            handled_by=user, handled_at=timezone.now(), updated_at=timezone.now())
    return approved
