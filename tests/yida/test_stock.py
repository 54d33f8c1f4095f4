"""Audited stock bills move the sandbox's inventory as Kingdee's do: a Yida receipt booked and audited raises the
warehouse's stock (so the stock levels and alerts see it), a transfer moves it between warehouses, un-audit moves it
back, and a move below zero is an interaction that passes only with STK_InvCheckResult."""

from decimal import Decimal

import pytest

from integrations import engine
from integrations.clients import client_for
from integrations.models import SyncRecord
from integrations.reports import stock as stock_report
from sandbox.dingtalk.models import YidaInstance
from sandbox.kingdee import bills as kingdee_bills, metadata, stock, trade
from sandbox.kingdee.models import FormRecord
from tests.yida.conftest import bills

pytestmark = pytest.mark.django_db(transaction=True)


def on_hand(material, warehouse):
    row = FormRecord.objects.filter(form_id="STK_Inventory", number=trade.inventory_number(material, warehouse)).first()
    return Decimal(str(row.model["FBaseQty"])) if row else Decimal(0)


def rows_of(world, key, table):
    form_uuid = world.credentials["yida"]["forms"][key]
    found = []
    for instance in YidaInstance.objects.filter(form__form_uuid=form_uuid):
        components = instance.form.components
        table_id = next(c["fieldId"] for c in components if c["label"] == table and not c["parentId"])
        labels = {c["fieldId"]: c["label"] for c in components if c["parentId"] == table_id}
        found += [{labels[k]: v for k, v in row.items()} for row in instance.form_data.get(table_id) or []]
    return found


def test_yida_receipts_booked_with_audit_raise_the_stock_the_stock_levels_read(world):
    received = {}
    for row in rows_of(world, "receipt", "入库明细"):
        key = (row["物料编码"], row["仓库编码"])
        received[key] = received.get(key, 0) + Decimal(str(row["实收数量"]))
    before = {key: on_hand(*key) for key in received}
    scheme = world.yida_scheme("receipt")
    scheme.target_params = {**scheme.target_params, "audit": True}
    scheme.save()

    run = engine.run_scheme(scheme.pk)

    assert run.failed_count == 0, [r.error for r in SyncRecord.objects.filter(status="failed")]
    assert all(r.document_status == FormRecord.Status.AUDITED for rows in bills("STK_InStock").values() for r in rows)
    assert {key: on_hand(*key) for key in received} == {key: before[key] + qty for key, qty in received.items()}
    material, warehouse = next(iter(received))
    seen = stock_report.inventory(client_for(world.kingdee), [material], warehouses=[warehouse])
    assert sum(Decimal(str(row["FBaseQty"])) for row in seen) == before[(material, warehouse)] + received[
        (material, warehouse)]


def test_an_audited_transfer_moves_stock_between_warehouses_and_un_audit_moves_it_back(world):
    engine.run_scheme(world.yida_scheme("transfer").pk)  # saved, not audited: the stock has not moved
    transfer = next(iter(bills("STK_TransferDirect").values()))[0]
    lines = [(e["FMaterialId"]["FNumber"], Decimal(str(e["FQty"]))) for e in transfer.model["FBillEntry"]]
    source, target = (transfer.model["FBillEntry"][0][key]["FNumber"] for key in ("FSrcStockId", "FDestStockId"))
    for material, _qty in lines:
        trade.set_stock(material, source, 100)
        trade.set_stock(material, target, 7)
    client = client_for(world.kingdee)

    client.submit("STK_TransferDirect", numbers=[transfer.number])
    assert client.audit("STK_TransferDirect", numbers=[transfer.number])[0].ok

    assert [(on_hand(m, source), on_hand(m, target)) for m, _q in lines] == [(100 - q, 7 + q) for _m, q in lines]
    client.unaudit("STK_TransferDirect", numbers=[transfer.number])
    assert [(on_hand(m, source), on_hand(m, target)) for m, _q in lines] == [(100, 7) for _m in lines]


def test_a_move_below_zero_is_an_interaction_that_passes_only_with_its_flag(world):
    engine.run_scheme(world.yida_scheme("transfer").pk)
    transfer = next(iter(bills("STK_TransferDirect").values()))[0]
    entry = transfer.model["FBillEntry"][0]
    material, source = entry["FMaterialId"]["FNumber"], entry["FSrcStockId"]["FNumber"]
    trade.set_stock(material, source, 0)
    client = client_for(world.kingdee)
    client.submit("STK_TransferDirect", numbers=[transfer.number])

    refused = client.audit("STK_TransferDirect", numbers=[transfer.number])[0]

    assert not refused.ok and refused.errors[0]["field"] == "AbstractInteractionResult"
    assert stock.INTERACTION in refused.errors[0]["message"] and on_hand(material, source) == 0
    assert FormRecord.objects.get(pk=transfer.pk).document_status == FormRecord.Status.SUBMITTED
    answer = kingdee_bills.operate(metadata.form_for("STK_TransferDirect"), "audit",
                                   {"Numbers": [transfer.number], "InterationFlags": "STK_InvCheckResult"})
    assert answer["Result"]["ResponseStatus"]["IsSuccess"], answer
    assert on_hand(material, source) == -Decimal(str(entry["FQty"]))
