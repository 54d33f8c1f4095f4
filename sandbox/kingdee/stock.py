"""Audit moves stock: STK_Inventory follows the stock bills as Kingdee's does (round 2 §6.2, checklist §12).

Auditing a purchase receipt (STK_InStock) adds each row's 实收数量 to its warehouse; a direct transfer
(STK_TransferDirect) takes each row's quantity out of the source warehouse and puts it into the target one; a sales
outbound (SAL_OUTSTOCK) takes it out. Un-auditing reverses the bill. A move that would leave a warehouse below
zero is an *interaction* (MsgCode 11, FieldName `AbstractInteractionResult`, round 1 §6.4) that passes only when
the call's `InterationFlags` carry `STK_InvCheckResult`. The sandbox keeps one inventory row per material and
warehouse (lot, owner and status are not split out), as its seed and the `set_stock` door do.
"""

from decimal import Decimal, InvalidOperation

from django.utils import timezone

from sandbox.kingdee.models import FormRecord, Sequence
from sandbox.kingdee.validation import Problem, reference_number
from sandbox.kingdee.wire import get

# form id (upper) → (entity, quantity key, ((warehouse key, direction), …))
MOVES = {
    "STK_INSTOCK": ("FInStockEntry", "FRealQty", (("FStockId", 1),)),
    "STK_TRANSFERDIRECT": ("FBillEntry", "FQty", (("FSrcStockId", -1), ("FDestStockId", 1))),
    "SAL_OUTSTOCK": ("FEntity", "FRealQty", (("FStockID", -1),)),
}
NEGATIVE_FLAG = "STK_InvCheckResult"
INTERACTION = "更新库存时出现可以忽略的异常数据，是否继续？"


def moves(form_id, model, sign=1):
    """{(material, warehouse): quantity change} of a bill; `sign` -1 for its reversal."""
    rule = MOVES.get(str(form_id).upper())
    if rule is None:
        return {}
    entity, qty_key, warehouses = rule
    found = {}
    rows = get(model, entity) or []
    for row in [rows] if isinstance(rows, dict) else rows:
        material = reference_number(get(row, "FMaterialId")) if isinstance(row, dict) else ""
        try:
            qty = Decimal(str(get(row, qty_key) or 0))
        except InvalidOperation:
            continue
        for key, direction in warehouses:
            warehouse = reference_number(get(row, key))
            if material and warehouse and qty:
                found[(material, warehouse)] = found.get((material, warehouse), Decimal(0)) + sign * direction * qty
    return found


def post(form_id, model, sign=1, flags=""):
    """Move the stock of a bill being audited (or, with sign -1, un-audited): a Problem when a warehouse would go
    below zero and the flag allowing it was not sent, else None with the inventory rows updated."""
    changes = moves(form_id, model, sign)
    if not changes:
        return None
    rows = {key: _row(*key) for key in sorted(changes)}
    allowed = NEGATIVE_FLAG.lower() in [flag.strip().lower() for flag in str(flags or "").split(";")]
    short = [key for key, change in changes.items() if _qty(rows[key]) + change < 0]
    if short and not allowed:
        return Problem("AbstractInteractionResult", INTERACTION)
    for key, change in changes.items():
        _save(rows[key], *key, _qty(rows[key]) + change)
    return None


def _row(material, warehouse):
    from sandbox.kingdee.trade import inventory_number

    return FormRecord.objects.select_for_update().filter(
        form_id="STK_Inventory", number=inventory_number(material, warehouse)).first()


def _qty(row):
    return Decimal(str(get(row.model, "FBaseQty") or 0)) if row is not None else Decimal(0)


def _save(row, material, warehouse, qty):
    from sandbox.kingdee.bills import ID_START
    from sandbox.kingdee.trade import inventory_model, inventory_number

    if row is None:
        row = FormRecord(form_id="STK_Inventory", fid=Sequence.next("STK_Inventory:fid", ID_START),
                         number=inventory_number(material, warehouse), document_status=FormRecord.Status.AUDITED)
    locked = get(row.model, "FBaseLockQty", 0) if row.model else 0
    number = int(qty) if qty == qty.to_integral_value() else float(qty)
    row.model = {"FID": row.fid, **inventory_model(material, warehouse, number, locked, timezone.localtime())}
    row.save()
