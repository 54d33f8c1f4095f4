"""Yida instances created and changed through the sandbox door become the right sales orders, purchase receipts
and transfers in the sandbox Kingdee, once each: a change updates the bill it made, an unchanged instance is not
written again (real HTTP against the live sandboxes)."""

from datetime import datetime
from decimal import Decimal

import pytest

from integrations import engine
from integrations.adapters.yida import BEIJING
from integrations.clients import client_for
from integrations.mapping import Row, build_payload
from integrations.models import SyncRecord
from sandbox.dingtalk.models import YidaInstance
from sandbox.kingdee.models import FormRecord
from tests.yida.conftest import FORMS, SOURCE_FIELD, bills

pytestmark = pytest.mark.django_db(transaction=True)


def instances(world, key):
    return list(YidaInstance.objects.filter(form__form_uuid=world.credentials["yida"]["forms"][key]))


def by_label(instance, label):
    components = {c["label"]: c["fieldId"] for c in instance.form.components if not c["parentId"]}
    return instance.form_data.get(components[label])


def rows_by_label(instance, table):
    form = instance.form
    table_id = next(c["fieldId"] for c in form.components if c["label"] == table and not c["parentId"])
    labels = {c["fieldId"]: c["label"] for c in form.components if c["parentId"] == table_id}
    return [{labels[k]: v for k, v in row.items()} for row in instance.form_data.get(table_id) or []]


def test_every_seeded_instance_becomes_one_bill_of_its_form(world):
    for key in FORMS:
        run = engine.run_scheme(world.yida_scheme(key).pk)
        assert run.failed_count == 0, [(r.source_key, r.error) for r in SyncRecord.objects.filter(status="failed")]
        found = bills(FORMS[key])
        seeded = instances(world, key)
        assert seeded and {i.form_instance_id for i in seeded} <= set(found)
        assert all(len(found[i.form_instance_id]) == 1 for i in seeded)

    order = next(iter(instances(world, "sale")))
    bill = bills("SAL_SaleOrder")[order.form_instance_id][0].model
    assert bill["FCustId"]["FNumber"] == by_label(order, "客户编码")
    assert bill["FBillTypeID"]["FNumber"] == "XSDD01_SYS"
    rows = rows_by_label(order, "订单明细")
    assert [(e["FMaterialId"]["FNumber"], Decimal(str(e["FQty"]))) for e in bill["FSaleOrderEntry"]] == [
        (row["物料编码"], Decimal(str(row["数量"]))) for row in rows]
    # 交货明细 is a sub-entity: one delivery-plan row inside each order row, numbered by Kingdee (FDetailID).
    plans = [entry["FOrderEntryPlan"] for entry in bill["FSaleOrderEntry"]]
    assert [[(p["FPlanDate"][:10], Decimal(str(p["FPlanQty"]))) for p in plan] for plan in plans] == [
        [(datetime.fromtimestamp(row["交货日期"] / 1000, BEIJING).strftime("%Y-%m-%d"), Decimal(str(row["数量"])))]
        for row in rows]
    assert all(plan[0]["FDetailID"] and plan[0]["FSeq"] == 1 for plan in plans)

    receipt = instances(world, "receipt")[0]
    model = bills("STK_InStock")[receipt.form_instance_id][0].model
    assert model["FSupplierId"]["FNumber"] == by_label(receipt, "供应商编码")
    assert [e["FStockId"]["FNumber"] for e in model["FInStockEntry"]] == [
        row["仓库编码"] for row in rows_by_label(receipt, "入库明细")]

    transfer = instances(world, "transfer")[0]
    model = bills("STK_TransferDirect")[transfer.form_instance_id][0].model
    assert {(e["FSrcStockId"]["FNumber"], e["FDestStockId"]["FNumber"]) for e in model["FBillEntry"]} == {
        (by_label(transfer, "调出仓库编码"), by_label(transfer, "调入仓库编码"))}


def test_a_changed_instance_updates_its_bill_and_an_unchanged_one_is_not_written(world):
    scheme = world.yida_scheme("sale")
    engine.run_scheme(scheme.pk)
    order = instances(world, "sale")[0]
    before = bills("SAL_SaleOrder")[order.form_instance_id][0]
    new = world.yida("sale", {"客户编码": "CUST0004", "客户名称": "南京百川物流有限公司", "订单日期": 1764000000000,
                              "销售员": [order.originator], "订单明细": [
                                  {"物料编码": "1.02.002", "数量": 3, "含税单价": 420, "税率(%)": 13}]})
    world.yida("sale", {"订单明细": [{"物料编码": "1.01.001", "数量": 7, "含税单价": 1200, "税率(%)": 13},
                                   {"物料编码": "2.01.002", "数量": 50, "含税单价": 28.5, "税率(%)": 13}],
                        "备注": "客户追加电源适配器"}, instance_id=order.form_instance_id)
    world.clear_calls()

    run = engine.run_scheme(scheme.pk)

    assert run.failed_count == 0, run.error
    found = bills("SAL_SaleOrder")
    assert len(found[order.form_instance_id]) == 1 and len(found[new["formInstanceId"]]) == 1
    after = found[order.form_instance_id][0]
    assert (after.fid, after.number) == (before.fid, before.number)
    assert after.model["FNote"] == "客户追加电源适配器"
    assert [(e["FMaterialId"]["FNumber"], e["FQty"]) for e in after.model["FSaleOrderEntry"]] == [
        ("1.01.001", 7), ("2.01.002", 50)]
    assert found[new["formInstanceId"]][0].model["FCustId"]["FNumber"] == "CUST0004"
    assert len(world.kingdee_writes()) == 2  # one save for the new order, one for the changed one

    world.clear_calls()
    again = engine.run_scheme(scheme.pk)
    assert again.failed_count == 0 and world.kingdee_writes() == []
    assert all(len(bills_) == 1 for key, bills_ in bills("SAL_SaleOrder").items() if key)
    record = SyncRecord.objects.get(scheme=scheme, source_key=order.form_instance_id)
    assert record.status == SyncRecord.Status.SUCCEEDED and record.target_number == before.number
    assert after.model[SOURCE_FIELD] == order.form_instance_id


def test_a_table_inside_an_order_row_becomes_that_rows_delivery_plan_sub_entries_in_kingdee(world):
    client = client_for(world.kingdee)
    fields = dict(client.form_fields("SAL_SaleOrder"))
    assert fields["FSaleOrderEntry[].FOrderEntryPlan[].FPlanQty"] == "数量"
    record = {"form": {"客户": "CUST0001", "订单明细": [
        {"物料": "1.01.001", "数量": 10, "交货计划": [{"日期": "2026-06-01", "数量": 4}, {"日期": "2026-06-15", "数量": 6}]},
        {"物料": "2.01.002", "数量": 5, "交货计划": []}]}}
    rows = [Row("FBillTypeID", "", "constant", {"value": "XSDD01_SYS", "wrap": "FNumber"}),
            Row("FDate", "", "constant", {"value": "2026-05-20"}),
            Row("FSaleOrgId", "", "constant", {"value": "100", "wrap": "FNumber"}),
            Row("FCustId", "客户", "basedata"),
            Row("FSaleOrderEntry[].FMaterialId", "订单明细[].物料", "basedata"),
            Row("FSaleOrderEntry[].FUnitID", "", "constant", {"value": "Pcs", "wrap": "FNumber"}),
            Row("FSaleOrderEntry[].FQty", "订单明细[].数量", "number"),
            Row("FSaleOrderEntry[].FOrderEntryPlan[].FPlanDate", "订单明细[].交货计划[].日期"),
            Row("FSaleOrderEntry[].FOrderEntryPlan[].FPlanQty", "订单明细[].交货计划[].数量", "number")]
    built = build_payload(rows, record)
    assert built.ok, [cell.render_error() for cell in built.errors]

    outcome = client.save("SAL_SaleOrder", built.payload)

    assert outcome.ok, outcome.message
    bill = FormRecord.objects.get(form_id="SAL_SaleOrder", fid=int(outcome.id)).model
    first, second = bill["FSaleOrderEntry"]
    assert [(p["FPlanDate"][:10], p["FPlanQty"], p["FSeq"]) for p in first["FOrderEntryPlan"]] == [
        ("2026-06-01", 4, 1), ("2026-06-15", 6, 2)]
    assert len({p["FDetailID"] for p in first["FOrderEntryPlan"]}) == 2 and "FOrderEntryPlan" not in second
