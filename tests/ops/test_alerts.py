"""Robot alerts against the sandbox's group robot (which checks the signature), at most one per window."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations import alerts, engine
from integrations.models import Alert, AlertGate, Connection, SyncRun
from portal.models import Heartbeat
from sandbox.dingtalk.models import Robot, RobotMessage
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent
from tests.ops.conftest import unknown_expense

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "SEC" + "7f3a9c" * 10


@pytest.fixture
def robot(live_server, scheme):
    """The finance group's robot in the sandbox (signing on), set as the scheme's alert channel."""
    Robot.objects.create(name="财务群", access_token="finance-group-token", secret=SECRET)
    connection = Connection.objects.create(
        name="财务群机器人", kind=Connection.Kind.DINGTALK_ROBOT, base_url=f"{live_server.url}/sandbox/dingtalk/",
        robot_token="finance-group-token", robot_secret=SECRET, rate_limit=50)
    scheme.alert_connection = connection
    scheme.save()
    return connection


def markdown(message):
    return message.body["markdown"]["text"]


def failing_run(scheme, remote, key):
    remote.dingtalk.add(unknown_expense(f"{key}-1", 0.2), unknown_expense(f"{key}-2", 0.1))
    return engine.run_scheme(scheme.pk, since=recent(1))


def test_a_failing_run_sends_exactly_one_signed_message_with_counts_and_a_link(scheme, remote, robot, q_sync,
                                                                               settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    remote.dingtalk.add(claim("fine", created=recent(0.3)))
    run = failing_run(scheme, remote, "a")

    [message] = RobotMessage.objects.all()
    assert message.robot.secret == SECRET and message.msg_uuid.startswith("portal-alert-")
    text = markdown(message)
    assert f"{scheme.name}：2 条记录未能入账" in text and "入账 1 条，失败 **2** 条" in text
    assert "值映射“费用明细→金蝶费用项目”中没有“团建费”的条目。 ×2" in text
    assert (f"(https://portal.example.com/admin/integrations/reviewrecord/?scheme__id__exact={scheme.pk}"
            "&review=failed)") in text
    alert = Alert.objects.get()
    assert (alert.status, alert.run, alert.kind) == (Alert.Status.SENT, run, Alert.Kind.RECORDS_FAILED)


def test_within_the_window_further_failures_are_held_back_and_the_next_alert_says_how_many(scheme, remote, robot,
                                                                                           q_sync):
    failing_run(scheme, remote, "a")
    failing_run(scheme, remote, "b")
    failing_run(scheme, remote, "c")
    assert RobotMessage.objects.count() == 1
    gate = AlertGate.objects.get(key=f"scheme:{scheme.pk}")
    assert gate.held_back == 2

    AlertGate.objects.update(last_sent_at=timezone.now() - timedelta(minutes=scheme.alert_window_minutes + 1))
    failing_run(scheme, remote, "d")
    assert RobotMessage.objects.count() == 2
    assert "上次提醒之后另有 2 次提醒因频率限制未发送" in markdown(RobotMessage.objects.latest("created_at"))


def test_a_scheme_failing_three_runs_in_a_row_alerts_once_with_the_error(scheme, remote, robot, q_sync,
                                                                          kingdee_connection):
    Connection.objects.filter(pk=kingdee_connection.pk).update(enabled=False)
    for _run in range(2):
        engine.run_scheme(scheme.pk)
    assert not RobotMessage.objects.exists()  # one or two failed runs are not yet a pattern
    run = engine.run_scheme(scheme.pk)
    assert run.status == SyncRun.Status.FAILED
    [message] = RobotMessage.objects.all()
    assert f"{scheme.name}：连续 3 次运行失败" in markdown(message) and "已停用" in markdown(message)
    assert Alert.objects.get().kind == Alert.Kind.RUNS_FAILED


def test_a_run_without_failures_sends_nothing(scheme, remote, robot, q_sync):
    remote.dingtalk.add(claim("fine", created=recent(0.3)))
    assert engine.run_scheme(scheme.pk).status == SyncRun.Status.SUCCEEDED
    assert not RobotMessage.objects.exists() and not Alert.objects.exists()


def test_a_robot_that_refuses_does_not_hold_up_the_run_and_its_failure_is_recorded(scheme, remote, robot, q_sync):
    Robot.objects.update(secret="SECsomethingelse")
    run = failing_run(scheme, remote, "a")
    assert run.status == SyncRun.Status.PARTIAL and run.failed_count == 2
    alert = Alert.objects.get()
    assert alert.status == Alert.Status.FAILED and "sign not match" in alert.error
    assert not RobotMessage.objects.exists()


def test_the_run_only_queues_the_alert_and_the_worker_sends_it(scheme, remote, robot, monkeypatch):
    queued = []
    monkeypatch.setattr(alerts, "async_task", lambda func, *args, **options: queued.append((func, args, options)))
    run = failing_run(scheme, remote, "a")
    assert queued == [("integrations.alerts.send_run_alert", (run.pk,),
                       {"task_name": f"alert for run {run.pk}", "group": "alerts"})]
    assert not RobotMessage.objects.exists()
    alerts.send_run_alert(run.pk)
    assert RobotMessage.objects.count() == 1


def test_a_stopped_worker_alerts_each_robot_once_per_window(scheme, robot, capsys):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(minutes=12))
    call_command("check_worker")
    call_command("check_worker")
    [message] = RobotMessage.objects.all()
    assert "集成门户的后台任务已停止" in markdown(message) and "12 分钟前" in markdown(message)
    assert scheme.name in markdown(message) and "/admin/integrations/syncrun/dashboard/" in markdown(message)
    assert "no alert" in capsys.readouterr().out


def test_a_live_worker_raises_no_alarm(scheme, robot):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=30))
    call_command("check_worker")
    assert not RobotMessage.objects.exists()
