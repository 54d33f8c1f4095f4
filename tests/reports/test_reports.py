"""The three ready reports send totals computed independently from the sandbox's own records."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.adapters.template_filters import qty
from integrations.reports import market, runner
from integrations.models.reports import ReportRun
from sandbox.kingdee.models import FormRecord
from tests.reports.helpers import messages, money


def report(world, slug, **overrides):
    return market.create_report(slug, kingdee=world["kingdee"], robots=[world["robot"]], **overrides)


def org_names():
    return {record.number: record.name for record in FormRecord.objects.filter(form_id="ORG_Organizations")}


def test_yesterdays_sales_and_receipts_by_organisation_match_the_sandbox(world):
    yesterday = timezone.localdate() - timedelta(days=1)
    sales, receipts = defaultdict(Decimal), defaultdict(Decimal)
    for bill in FormRecord.objects.filter(form_id="SAL_OUTSTOCK", model__FDate=f"{yesterday}T00:00:00"):
        for entry in bill.model["FEntity"]:
            sales[org_names()[bill.model["FSaleOrgId"]["FNumber"]]] += Decimal(str(entry["FAllAmount"]))
    for bill in FormRecord.objects.filter(form_id="AR_RECEIVEBILL", model__FDATE=f"{yesterday}T00:00:00"):
        receipts[org_names()[bill.model["FPAYORGID"]["FNumber"]]] += Decimal(str(bill.model["FREALRECAMOUNTFOR"]))

    run = runner.run(report(world, "kingdee-daily-sales-receipts"))

    assert run.status == ReportRun.Status.SUCCEEDED, run.error or run.messages
    [message] = messages(world["url"], channel="robot")
    assert message["msgtype"] == "actionCard" and message["links"][-1].startswith(world["url"] if False else "http")
    text = message["text"]
    sales_part, receipts_part = text.split("收款合计")
    assert f"销售出库合计：{money(sum(sales.values()))}" in sales_part
    assert f"：{money(sum(receipts.values()))}" in receipts_part.splitlines()[0]
    for org, amount in sales.items():
        assert f"{org}：{money(amount)}（" in sales_part
    for org, amount in receipts.items():
        assert f"- {org}：{money(amount)}\n" in receipts_part + "\n"


def test_receivables_ageing_lists_the_top_ten_customers_with_their_buckets(world):
    today = timezone.localdate()
    open_by_customer, over_90 = defaultdict(Decimal), defaultdict(Decimal)
    customers = {r.number: r.name for r in FormRecord.objects.filter(form_id="BD_Customer")}
    for bill in FormRecord.objects.filter(form_id="AR_receivable"):
        amount = Decimal(str(bill.model["FNORECEIVEAMOUNT"]))
        if amount > 0:
            name = customers[bill.model["FCUSTOMERID"]["FNumber"]]
            open_by_customer[name] += amount
            if (today - timezone.datetime.fromisoformat(bill.model["FDATE"]).date()).days > 90:
                over_90[name] += amount
    top = sorted(open_by_customer.items(), key=lambda item: -item[1])[:10]

    run = runner.run(report(world, "kingdee-receivables-ageing-top10"))

    [message] = messages(world["url"], channel="robot")
    assert run.status == ReportRun.Status.SUCCEEDED
    assert f"未核销合计：**{money(sum(open_by_customer.values()))}**" in message["text"]
    for rank, (name, amount) in enumerate(top, start=1):
        assert f"{rank}. **{name}** {money(amount)}" in message["text"]
        assert f"90天以上 {over_90[name]:,.0f}" in message["text"]


def test_stock_below_safety_lists_exactly_the_materials_short_of_it(world):
    available = defaultdict(Decimal)
    for row in FormRecord.objects.filter(form_id="STK_Inventory"):
        available[row.model["FMaterialId"]["FNumber"]] += Decimal(str(row.model["FBaseAvbQty"]))
    low = {m.number: m.name for m in FormRecord.objects.filter(form_id="BD_MATERIAL")
           if available[m.number] < Decimal(str(m.model["SubHeadEntity1"]["FSafeStock"]))}

    runner.run(report(world, "kingdee-stock-below-safety"))

    [message] = messages(world["url"], channel="robot")
    assert low and f"共 **{len(low)}** 种物料低于安全库存" in message["text"]
    assert {name for name in low.values() if f"**{name}**" in message["text"]} == set(low.values())
    for material in FormRecord.objects.filter(form_id="BD_MATERIAL", number__in=low):
        safety = Decimal(str(material.model["SubHeadEntity1"]["FSafeStock"]))
        have = available[material.number]
        assert (f"**{material.name}**（{material.number}，{material.model['FSpecification']}）可用 {qty(have)}，"
                f"安全库存 {qty(safety)}，缺口 **{qty(safety - have)}**") in message["text"]


def test_the_full_table_link_opens_every_row_without_a_login(world, client):
    run = runner.run(report(world, "kingdee-receivables-ageing-top10"))
    [message] = messages(world["url"], channel="robot")

    link = next(link for link in message["links"] if "/reports/table/" in link)
    page = client.get(link.replace(world["url"], ""))

    assert page.status_code == 200
    html = page.content.decode()
    assert "应收账龄" in html and "90天以上" in html
    assert html.count("<tr>") == len(run.tables["ageing"]["rows"]) + 2  # header + rows + total
    assert client.get("/reports/table/forged/").status_code == 404


def test_a_failed_send_is_recorded_with_the_message_and_sent_again_on_retry(world):
    robot = world["robot"]
    secret, robot.robot_secret = robot.robot_secret, "SECwrong"
    robot.save()
    run = runner.run(report(world, "kingdee-stock-below-safety"))
    assert run.status == ReportRun.Status.FAILED and "sign" in run.messages[0]["error"]
    assert messages(world["url"]) == []

    robot.robot_secret = secret
    robot.save()
    assert runner.retry(run) == 1

    run.refresh_from_db()
    assert run.status == ReportRun.Status.SUCCEEDED
    [message] = messages(world["url"])
    assert message["text"] == run.messages[0]["message"]["text"]


def test_a_template_error_fails_the_run_with_a_readable_reason_and_sends_nothing(world):
    broken = report(world, "kingdee-stock-below-safety")
    broken.template = "{% for row in low.rows %}"  # saved around the form's check, as an old template might be
    broken.save()

    run = runner.run(broken)

    assert run.status == ReportRun.Status.FAILED
    assert "template" in run.messages[0]["error"].lower() or "模板" in run.messages[0]["error"]
    assert messages(world["url"]) == []


@pytest.mark.parametrize("slug", ["kingdee-daily-sales-receipts", "kingdee-receivables-ageing-top10",
                                  "kingdee-stock-below-safety", "kingdee-stock-alert"])
def test_every_ready_template_previews_against_live_data(world, slug):
    message, tables, error = runner.preview(report(world, slug))

    assert message.title and message.text and tables and not error
