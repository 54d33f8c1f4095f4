"""The sandbox's side of reports, alerts and the lookup: materials with safety stock, stock, sales, receipts,
receivables readable through ExecuteBillQuery; the `_stock` door; the DingTalk `_messages` door."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from sandbox.dingtalk.inbox import readable
from sandbox.kingdee.models import FormRecord

pytestmark = pytest.mark.django_db


def test_materials_carry_safety_stock_and_their_buyer(api):
    rows = api.query("BD_MATERIAL", "FNumber,FName,FSpecification,FIsEnableSafeStock,FSafeStock,FPurchaserId.FNumber",
                     "FIsEnableSafeStock = 1 and FUseOrgId.FNumber = '100' and FForbidStatus = 'A'")

    assert ["1.01.001", "智能网关 X1", "X1-220V", True, 40] == rows[0][:5]
    assert all(row[5] for row in rows)


def test_stock_rows_sum_per_material_and_filter_by_warehouse(api):
    rows = api.query("STK_Inventory", "FMaterialId.FNumber,FStockId.FNumber,FStockOrgId.FNumber,FBaseQty,FBaseAvbQty",
                     "FMaterialId.FNumber in ('1.01.002','1.01.003') and FStockId.FNumber = 'CK002'")

    assert rows and {row[1] for row in rows} == {"CK002"} and {row[2] for row in rows} == {"101"}
    assert all(row[4] <= row[3] for row in rows)


def test_yesterdays_sales_outbound_are_readable_by_entry(api):
    yesterday = timezone.localdate() - timedelta(days=1)
    rows = api.query("SAL_OUTSTOCK", "FBillNo,FSaleOrgId.FNumber,FCustomerID.FName,FMaterialID.FNumber,FAllAmount",
                     f"FDate >= '{yesterday}' and FDate < '{yesterday + timedelta(days=1)}'")

    bills = FormRecord.objects.filter(form_id="SAL_OUTSTOCK", number__startswith=f"XSCKD{yesterday:%Y%m%d}")
    expected = sum(Decimal(str(entry["FAllAmount"])) for bill in bills for entry in bill.model["FEntity"])
    assert rows and sum(Decimal(str(row[4])) for row in rows) == expected
    assert all(row[2] for row in rows)


def test_receipts_and_receivables_are_readable(api):
    receipts = api.query("AR_RECEIVEBILL", "FBillNo,FPAYORGID.FNumber,FCONTACTUNIT.FName,FREALRECAMOUNTFOR", "")
    receivables = api.query("AR_receivable", "FBillNo,FCUSTOMERID.FName,FDATE,FALLAMOUNTFOR,FNORECEIVEAMOUNT",
                            "FNORECEIVEAMOUNT > 0")

    assert receipts and all(row[2] and row[3] > 0 for row in receipts)
    assert receivables and all(0 < row[4] <= row[3] for row in receivables)


def test_the_stock_door_sets_a_quantity_that_queries_then_show(client, api):
    response = client.post("/sandbox/kingdee/_stock", {"material": "1.01.001", "stock": "CK003", "qty": 7},
                           content_type="application/json")

    assert response.status_code == 200
    rows = api.query("STK_Inventory", "FBaseQty,FBaseAvbQty",
                     "FMaterialId.FNumber = '1.01.001' and FStockId.FNumber = 'CK003'")
    assert rows == [[7, 7]]


@pytest.mark.parametrize("body, message", [
    ({"material": "nope", "stock": "CK001", "qty": 1}, "物料“nope”不存在"),
    ({"material": "1.01.001", "stock": "CK009", "qty": 1}, "仓库“CK009”不存在"),
    ({"material": "1.01.001", "stock": "CK001"}, "请提供 material、stock 和 qty"),
    ({"material": "1.01.001", "stock": "CK001", "qty": "many"}, "数量(qty)必须是数字"),
])
def test_the_stock_door_refuses_bad_input_and_changes_nothing(client, creds, body, message):
    before = list(FormRecord.objects.filter(form_id="STK_Inventory").values_list("model", flat=True))

    response = client.post("/sandbox/kingdee/_stock", body, content_type="application/json")

    assert response.status_code == 400 and response.json()["error"] == message
    assert list(FormRecord.objects.filter(form_id="STK_Inventory").values_list("model", flat=True)) == before


def test_readable_messages_take_title_text_and_links_from_every_shape():
    card = {"actionCard": {"title": "库存预警", "text": "### 扫码枪\n[明细](http://x/a)", "singleTitle": "查看",
                           "singleURL": "http://x/b"}}
    notice = {"action_card": {"title": "入账", "markdown": "已入账", "btn_json_list": [{"title": "打开",
                                                                                       "action_url": "http://x/c"}]}}

    assert readable("actionCard", card) == ("库存预警", "### 扫码枪\n[明细](http://x/a)", ["http://x/a", "http://x/b"])
    assert readable("action_card", notice) == ("入账", "已入账", ["http://x/c"])
    assert readable("text", {"text": {"content": "你好"}}) == ("", "你好", [])


def test_the_messages_door_lists_robot_messages_and_work_notices_since_a_time(client):
    from sandbox.dingtalk.models import App, Robot, RobotMessage, WorkNotice

    robot = Robot.objects.create(name="销售群机器人", access_token="t1")
    app = App.objects.create(name="集成", app_key="k", app_secret="s", agent_id=1, corp_id="c")
    earlier = RobotMessage.objects.create(robot=robot, msgtype="markdown", body={"msgtype": "markdown", "markdown": {
        "title": "日报", "text": "合计 100 [全表](http://portal/r/1)"}})
    RobotMessage.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(seconds=5))
    since = int(timezone.now().timestamp() * 1000)
    WorkNotice.objects.create(task_id=5, app=app, userids=["u1"], msgtype="markdown",
                              msg={"msgtype": "markdown", "markdown": {"title": "预警", "text": "低于安全库存"}})

    everything = client.get("/sandbox/dingtalk/_messages?since=0").json()["messages"]
    recent = client.get(f"/sandbox/dingtalk/_messages?since={since}").json()["messages"]

    assert [m["channel"] for m in everything] == ["robot", "work_notice"]
    assert everything[0] | {"time": 0} == {"channel": "robot", "to": "销售群机器人", "msgtype": "markdown", "title": "日报",
                                           "text": "合计 100 [全表](http://portal/r/1)", "links": ["http://portal/r/1"],
                                           "time": 0}
    assert [(m["to"], m["title"]) for m in recent] == [(["u1"], "预警")]
    assert client.get("/sandbox/dingtalk/_messages?since=x").status_code == 400
    assert json.dumps(everything)
