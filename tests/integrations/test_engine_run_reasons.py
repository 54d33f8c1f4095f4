"""A run's own reasons are data too: a code and plain parameters, rendered for whoever reads the run."""

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from django.urls import reverse
from django.utils import timezone, translation

from integrations import alerts, engine, reasons
from integrations.clients.errors import QuotaExceededError
from integrations.engine import ledger
from integrations.models import Alert, SyncRun
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent
from tests.ops.test_browser import SCREENSHOTS, browser, open_as  # noqa: F401

CJK = re.compile(r"[\u4e00-\u9fff]")


def stored(run):
    """The row as the database holds it."""
    return SyncRun.objects.values("error", "reasons").get(pk=run.pk)


def no_translated_text(row):
    """English only (the scheme's and connections' own names aside, which are data)."""
    return not CJK.search(row["error"] + repr(row["reasons"]))


@pytest.mark.django_db
def test_a_run_stopped_in_a_chinese_request_reads_chinese_to_a_chinese_reader_and_english_to_an_english_one(
        scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(3)))
    with translation.override("zh-hans"):
        run = engine.run_scheme(scheme.pk, should_stop=lambda: True)

    row = stored(run)
    assert row["reasons"] == [{"code": "stopped_on_request", "params": {}}]
    assert no_translated_text(row)
    run.refresh_from_db()
    with translation.override("zh-hans"):
        assert reasons.describe_run(run) == "已按要求停止；剩余记录由下一次运行处理。"
    with translation.override("en"):
        assert reasons.describe_run(run) == "Stopped on request; the rest is picked up by the next run."


@pytest.mark.django_db
def test_the_remotes_own_message_is_kept_verbatim_as_a_parameter(scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(3)))
    remote.dingtalk.fail_get["a"] = QuotaExceededError("ApiCountLimitForOrg 今日调用量已用完", system="dingtalk")
    with translation.override("zh-hans"):
        run = engine.run_scheme(scheme.pk)

    [entry] = stored(run)["reasons"]
    assert entry["code"] == "reading_failed" and "ApiCountLimitForOrg 今日调用量已用完" in entry["params"]["message"]
    assert stored(run)["error"].startswith("Reading the source failed: ")  # not 读取来源记录失败
    with translation.override("zh-hans"):
        assert reasons.describe_run(run).startswith("读取来源记录失败：")


@pytest.mark.django_db
def test_a_disabled_connection_is_named_in_the_readers_language_and_the_alert_says_it_in_chinese(scheme, remote):
    scheme.target_connection.enabled = False
    scheme.target_connection.save()
    with translation.override("zh-hans"):
        run = engine.run_scheme(scheme.pk)

    row = stored(run)
    assert run.status == SyncRun.Status.FAILED
    assert row["reasons"] == [{"code": "connection_disabled", "params": {"name": scheme.target_connection.name}}]
    assert row["error"] == f"The connection “{scheme.target_connection.name}” is disabled."
    with translation.override("zh-hans"):
        _title, text = alerts.run_message(run, Alert.Kind.RUNS_FAILED, 0)
    assert f"最近一次错误：连接“{scheme.target_connection.name}”已停用。" in text
    with translation.override("en"):
        _title, text = alerts.run_message(run, Alert.Kind.RUNS_FAILED, 0)
    assert f"Last error: The connection “{scheme.target_connection.name}” is disabled." in text


@pytest.mark.django_db
def test_the_run_page_shows_the_reason_in_the_viewers_language(admin_client, scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(3)))
    run = engine.run_scheme(scheme.pk, should_stop=lambda: True)
    url = reverse("admin:integrations_syncrun_change", args=[run.pk])

    with translation.override(None):  # the middleware activates each request's language: leave none behind
        chinese = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        english = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "已按要求停止" in chinese and "Stopped on request" not in chinese
    assert "Stopped on request" in english and "已按要求停止" not in english


@pytest.mark.django_db
def test_an_abandoned_run_keeps_a_code_not_the_workers_language(scheme):
    run = SyncRun.objects.create(scheme=scheme, trigger="schedule",
                                 lease_expires_at=timezone.now() - timedelta(minutes=1))
    with translation.override("zh-hans"):
        assert ledger.abandon_expired_runs(scheme.pk) == 1

    run.refresh_from_db()
    assert run.status == SyncRun.Status.ABANDONED and run.reasons == [{"code": "run_abandoned", "params": {}}]
    assert no_translated_text(stored(run))
    with translation.override("zh-hans"):
        assert CJK.search(reasons.describe_run(run))


def test_an_old_run_with_only_its_text_still_reads():
    assert reasons.describe_run(SyncRun(error="金蝶暂时无法连接")) == "金蝶暂时无法连接"
    assert reasons.describe_run(SyncRun()) == ""


@pytest.mark.django_db(transaction=True)
def test_it_reads_why_a_run_stopped_in_chinese_on_the_run_page(open_as, live_server, admin_user, scheme,  # noqa: F811
                                                                remote):
    remote.dingtalk.add(claim("a", created=recent(3)))
    remote.dingtalk.fail_get["a"] = QuotaExceededError("ApiCountLimitForOrg", system="dingtalk")
    with translation.override("en"):  # a worker in English: the page still speaks the reader's language
        run = engine.run_scheme(scheme.pk)

    page = open_as(admin_user)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}{reverse('admin:integrations_syncrun_change', args=[run.pk])}")

    shown = page.locator(".sync-run-error")
    expect(shown).to_contain_text("读取来源记录失败：")
    expect(shown).to_contain_text("ApiCountLimitForOrg")  # the remote's own words, verbatim
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "run-error.png"), full_page=True)
