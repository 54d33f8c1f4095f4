"""IT's pages for reports: make one from a template, preview it against live data, see its runs and retry."""

import os
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import sync_playwright

from integrations.models import Report, ReportRun
from integrations.reports import market, runner
from tests.reports.helpers import messages

SHOTS = os.environ.get("REPORT_SCREENSHOTS")


def test_it_makes_a_report_from_a_template_and_previews_an_edited_template_without_sending(world, it_client):
    page = it_client.get(reverse("admin:integrations_report_from_template"))
    assert "金蝶库存预警 → 钉钉" in page.content.decode()

    response = it_client.post(reverse("admin:integrations_report_from_template"), {
        "template": "kingdee-stock-below-safety", "kingdee": world["kingdee"].pk, "robots": [world["robot"].pk]})
    report = Report.objects.get(template_slug="kingdee-stock-below-safety")
    assert response.status_code == 302 and report.robots.get() == world["robot"] and report.cron == "30 8 * * *"

    preview = it_client.post(reverse("admin:integrations_report_preview", args=[report.pk]),
                             {"title": "试一下", "template": "共 {{ low.count }} 种"}).content.decode()
    live = runner.preview(report)[1]["low"]["count"]
    assert f"共 {live} 种" in preview and "试一下" in preview
    broken = it_client.post(reverse("admin:integrations_report_preview", args=[report.pk]),
                            {"title": "x", "template": "{% if %}"}).content.decode()
    assert "模板有错误" in broken
    assert messages(world["url"]) == []
    report.refresh_from_db()
    assert report.template != "共 {{ low.count }} 种"


def test_a_report_with_a_bad_query_or_cron_is_refused_in_chinese(world, it_client):
    report = market.create_report("kingdee-stock-below-safety", kingdee=world["kingdee"])
    url = reverse("admin:integrations_report_change", args=[report.pk])
    form = {"name": report.name, "kind": "report", "enabled": "on", "cron": "every morning", "kingdee": world["kingdee"].pk,
            "queries": '[{"name": "x y", "form": "SAL_OUTSTOCK"}]', "options": "{}", "msgtype": "markdown",
            "title": "t", "template": "x"}

    page = it_client.post(url, form).content.decode()

    assert "请输入有效的 cron 表达式" in page and "查询无效" in page
    assert Report.objects.get(pk=report.pk).cron == "30 8 * * *"


def test_runs_show_what_was_sent_and_failed_sends_can_be_retried(world, it_client, q_sync):
    robot = world["robot"]
    secret, robot.robot_secret = robot.robot_secret, "SECwrong"
    robot.save()
    run = runner.run(market.create_report("kingdee-receivables-ageing-top10", kingdee=world["kingdee"],
                                          robots=[robot]))
    robot.robot_secret = secret
    robot.save()

    page = it_client.get(reverse("admin:integrations_reportrun_change", args=[run.pk])).content.decode()
    assert "应收账龄 Top 10 客户" in page and "sign not match" in page
    dashboard = it_client.get(reverse("admin:integrations_dashboard")).content.decode()
    assert "报表与库存预警" in dashboard and "失败" in dashboard

    it_client.post(reverse("admin:integrations_reportrun_changelist"),
                   {"action": "retry_failed", "_selected_action": [run.pk]})

    run.refresh_from_db()
    assert run.status == ReportRun.Status.SUCCEEDED and len(messages(world["url"])) == 1


@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs Debian's chromium")
def test_the_preview_and_run_pages_look_right_in_chinese(world, it_user, live_server):
    from django.conf import settings
    from django.test import Client

    report = market.create_report("kingdee-daily-sales-receipts", kingdee=world["kingdee"], robots=[world["robot"]])
    run = runner.run(report)
    client = Client()
    client.force_login(it_user)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[
            settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + reverse("admin:integrations_report_preview", args=[report.pk]))
        assert "销售出库合计" in page.content()
        from integrations.adapters.template_filters import money

        amount = money(run.tables["sales"]["rows"][0]["amount"])  # as the full table shows it: 51,100.00
        assert f">{amount}</td>" in page.content() and "," in amount
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "report-preview.png"), full_page=True)
        page.goto(live_server.url + reverse("admin:integrations_reportrun_change", args=[run.pk]))
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "report-run.png"), full_page=True)
        page.goto(live_server.url + urlsplit(runner.table_url(run)).path)
        assert "销售组织" in page.content()
        if SHOTS:
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=os.path.join(SHOTS, "report-table-phone.png"), full_page=True)
        browser.close()
