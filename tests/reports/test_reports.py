"""The three ready reports send totals computed independently from the sandbox's own records."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.adapters.template_filters import qty
from integrations.reports import market, runner
from integrations.models.reports import ReportRun
from sandbox.kingdee import trade
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


# (customer, age in days, open amount): each bucket's sum known by hand, the edges (0, 30, 31, 60, 61, 90, 91)
# on both sides. Not counted: a bill fully received and a bill not yet audited.
AGEING_BILLS = [("CUST0001", 0, 100), ("CUST0001", 30, 200), ("CUST0001", 31, 400), ("CUST0001", 90, 800),
                ("CUST0001", 91, 1600), ("CUST0002", 45, 1000), ("CUST0002", 60, 50), ("CUST0002", 61, 7),
                ("CUST0002", 400, 5000), ("CUST0003", 10, 20000)]
AGEING_EXPECTED = {  # customer: (0-30, 31-60, 61-90, >90)
    "CUST0001": (300, 400, 800, 1600), "CUST0002": (0, 1050, 7, 5000), "CUST0003": (20000, 0, 0, 0)}


def ageing_bills(today):
    FormRecord.objects.filter(form_id="AR_receivable").delete()
    bills = AGEING_BILLS + [("CUST0004", 100, 0), ("CUST0005", 5, 999)]
    for index, (customer, age, amount) in enumerate(bills, start=1):
        day = today - timedelta(days=age)
        record = trade._bill("AR_receivable", f"ARTEST{index:04d}", {
            "FBillTypeID": {"FNumber": "YSD01_SYS"}, "FDATE": f"{day:%Y-%m-%d}T00:00:00",
            "FCUSTOMERID": {"FNumber": customer}, "FCURRENCYID": {"FNumber": "PRE001"},
            "FSETTLEORGID": {"FNumber": "100"}, "FSALEORGID": {"FNumber": "100"}, "FALLAMOUNTFOR": float(amount or 500),
            "FWRITTENOFFAMOUNTFOR": float(500 if not amount else 0), "FNORECEIVEAMOUNT": float(amount)})
        if customer == "CUST0005":  # saved, not audited
            record.document_status = FormRecord.Status.CREATED
            record.save()


def test_receivables_ageing_puts_every_bill_in_its_bucket_and_totals_them(world):
    today = timezone.localdate()
    ageing_bills(today)
    customers = {r.number: r.name for r in FormRecord.objects.filter(form_id="BD_Customer")}
    expected = {customers[number]: buckets for number, buckets in AGEING_EXPECTED.items()}
    ranked = sorted(expected.items(), key=lambda item: -sum(item[1]))

    run = runner.run(report(world, "kingdee-receivables-ageing-top10"))

    assert run.status == ReportRun.Status.SUCCEEDED, run.error or run.messages
    [message] = messages(world["url"], channel="robot")
    text = message["text"]
    assert f"未核销合计：**{money(Decimal(29157))}**（3 个客户）" in text
    lines = text.splitlines()
    for rank, (name, (young, month, quarter, old)) in enumerate(ranked, start=1):
        at = lines.index(f"{rank}. **{name}** {money(Decimal(young + month + quarter + old))}")
        assert lines[at + 1].strip() == (f"0-30天 {qty(young)}｜31-60天 {qty(month)}｜61-90天 {qty(quarter)}｜"
                                         f"90天以上 {qty(old)}")
    assert customers["CUST0004"] not in text and customers["CUST0005"] not in text
    totals = run.tables["ageing"]["totals"]
    assert {name: Decimal(str(totals[name])) for name in ("age_0_30", "age_31_60", "age_61_90", "age_over_90",
                                                          "open")} == {
        "age_0_30": 20300, "age_31_60": 1450, "age_61_90": 807, "age_over_90": 6600, "open": 29157}


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
