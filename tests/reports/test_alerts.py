"""Stock alerts: one alert per material per day while low, nothing on the next run, one "recovered" notice."""

import requests
from django.db.models import Q

from integrations.models import Report, ReportRun
from integrations.reports import market, runner, tasks
from tests.events.processes import cluster as start_cluster
from tests.integrations.live import wait_for
from tests.reports.helpers import messages


def stock(base_url, material, warehouse, qty):
    response = requests.post(f"{base_url}/sandbox/kingdee/_stock",
                             json={"material": material, "stock": warehouse, "qty": qty}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["FBaseAvbQty"]


def alert(world, **overrides):
    return market.create_report("kingdee-stock-alert", kingdee=world["kingdee"], robots=[world["robot"]],
                                notice_connection=world["dingtalk"], **overrides)


def about(found, material):
    return [message for message in found if material in message["text"]]


def test_a_material_dropped_below_safety_stock_is_alerted_once_and_recovered_once(world):
    url, report = world["url"], alert(world)
    available = stock(url, "1.01.001", "CK001", 3)  # safety stock 40; a few may be locked

    first = runner.run(report)
    after_first = messages(url)
    second = runner.run(report)
    after_second = messages(url)
    stock(url, "1.01.001", "CK001", 90)
    third = runner.run(report)
    recovered = messages(url)[len(after_second):]

    low = about(after_first, "1.01.001")
    assert len([m for m in low if m["channel"] == "robot"]) == 1
    assert f"可用 **{available}**，低于安全库存 40，缺口 **{40 - available}**" in low[0]["text"] and low[0]["title"] == "库存预警：智能网关 X1"
    assert second.status == ReportRun.Status.NOTHING and len(after_second) == len(after_first)
    assert [(m["channel"], m["title"]) for m in recovered if m["channel"] == "robot"] == [("robot", "库存已恢复：智能网关 X1")]
    assert first.status == third.status == ReportRun.Status.SUCCEEDED


def test_the_alert_goes_to_the_materials_buyer_as_a_work_notice(world):
    from integrations.identity import dingtalk_userid_of_staff
    from sandbox.kingdee.models import FormRecord

    url, report = world["url"], alert(world)
    buyer_staff = FormRecord.objects.get(form_id="BD_MATERIAL", number="1.01.001").model["SubHeadEntity3"][
        "FPurchaserId"]["FStaffNumber"]
    stock(url, "1.01.001", "CK001", 0)

    runner.run(report)

    notices = about(messages(url, channel="work_notice"), "1.01.001")
    assert [m["to"] for m in notices] == [[dingtalk_userid_of_staff(buyer_staff)]]


def test_alerts_run_by_a_real_worker_count_exactly(world):
    url, report = world["url"], alert(world)
    stock(url, "1.01.001", "CK001", 2)
    cluster = start_cluster(workers=1)
    try:
        for expected_runs in (1, 2):
            tasks.enqueue_report(Report.objects.get(pk=report.pk))
            wait_for(lambda n=expected_runs: ReportRun.objects.filter(report=report).exclude(
                status=ReportRun.Status.RUNNING).count() >= n, timeout=120, message=f"run {expected_runs}")
        after_two = messages(url)
        stock(url, "1.01.001", "CK001", 100)
        tasks.enqueue_report(Report.objects.get(pk=report.pk))
        wait_for(lambda: ReportRun.objects.filter(report=report).exclude(
            status=ReportRun.Status.RUNNING).count() >= 3, timeout=120, message="run 3")
    finally:
        cluster.stop()

    runs = list(ReportRun.objects.filter(report=report).order_by("pk"))
    robot_about = [m for m in about(after_two, "1.01.001") if m["channel"] == "robot"]
    assert len(robot_about) == 1
    assert runs[1].status == ReportRun.Status.NOTHING
    recovered = [m for m in messages(url)[len(after_two):] if m["channel"] == "robot"]
    assert [m["title"] for m in recovered] == ["库存已恢复：智能网关 X1"]
    assert not ReportRun.objects.filter(Q(status=ReportRun.Status.FAILED) | Q(status=ReportRun.Status.PARTIAL)).exists()


def test_an_alert_counts_only_the_warehouses_it_is_configured_for(world):
    url = world["url"]
    stock(url, "1.01.001", "CK001", 500)  # plenty in the main warehouse (safety stock 40)
    stock(url, "1.01.001", "CK003", 0)  # none in the after-sales one
    spares, main = ({"name": "levels", "label": "库存水平", "kind": "stock_levels", "orgs": [],
                     "warehouses": [number], "per_org": False} for number in ("CK003", "CK001"))

    runner.run(alert(world, name="售后备件仓预警", queries=[spares]))
    spares_alerts = about(messages(url, channel="robot"), "1.01.001")
    runner.run(alert(world, name="上海总仓预警", queries=[main]))

    assert [m["title"] for m in spares_alerts] == ["库存预警：智能网关 X1"]
    assert about(messages(url, channel="robot"), "1.01.001") == spares_alerts  # the main warehouse is not low
