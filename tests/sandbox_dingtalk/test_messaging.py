import json
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from integrations.protocol import robot_sign
from sandbox.dingtalk.models import Employee, Robot, RobotMessage, WorkNotice

pytestmark = pytest.mark.django_db
BASE = "/sandbox/dingtalk/"


@pytest.fixture
def token(client, seeded):
    app = seeded["dingtalk"]
    return client.get(BASE + "gettoken", {"appkey": app["app_key"], "appsecret": app["app_secret"]}).json()[
        "access_token"]


def notice(client, token, agent_id, userids, text="### 已入账"):
    body = {"agent_id": int(agent_id), "userid_list": ",".join(userids),
            "msg": {"msgtype": "markdown", "markdown": {"title": "报销", "text": text}}}
    return client.post(f"{BASE}topapi/message/corpconversation/asyncsend_v2?access_token={token}", body,
                       content_type="application/json").json()


def test_a_work_notice_is_recorded_and_duplicates_are_silently_dropped(client, token, seeded):
    person, agent = Employee.objects.first(), seeded["dingtalk"]["agent_id"]
    first = notice(client, token, agent, [person.userid])
    second = notice(client, token, agent, [person.userid])
    assert first["errcode"] == second["errcode"] == 0 and WorkNotice.objects.count() == 2
    result = client.post(f"{BASE}topapi/message/corpconversation/getsendresult?access_token={token}",
                         {"agent_id": int(agent), "task_id": second["task_id"]},
                         content_type="application/json").json()["send_result"]
    assert result["forbidden_user_id_list"] == [person.userid] and result["forbidden_list"][0]["code"] == "143106"
    assert notice(client, token, "1", [person.userid])["errcode"] == 400002


def robot_post(client, robot, body, timestamp=None, secret=None):
    timestamp = str(timestamp or int(time.time() * 1000))
    sign = quote(robot_sign(secret or robot.secret, timestamp), safe="")
    return client.post(f"{BASE}robot/send?access_token={robot.access_token}&timestamp={timestamp}&sign={sign}",
                       json.dumps(body), content_type="application/json").json()


def test_a_signed_robot_message_is_recorded(client, seeded):
    robot = Robot.objects.get()
    body = {"msgtype": "markdown", "markdown": {"title": "同步失败", "text": "3 张单据失败"}, "msgUuid": "u1"}
    assert robot_post(client, robot, body) == {"errcode": 0, "errmsg": "ok"}
    assert robot_post(client, robot, body)["errcode"] == 0  # same msgUuid: not posted twice
    assert RobotMessage.objects.get().body["markdown"]["title"] == "同步失败"


def test_the_robot_refuses_a_bad_sign_an_old_timestamp_and_an_unknown_token(client, seeded):
    robot, body = Robot.objects.get(), {"msgtype": "text", "text": {"content": "hi"}}
    assert robot_post(client, robot, body, secret="SECwrong")["errcode"] == 310000
    old = int((timezone.now() - timedelta(hours=2)).timestamp() * 1000)
    assert robot_post(client, robot, body, timestamp=old)["errmsg"] == "invalid timestamp"
    robot.access_token = "unknown"
    assert robot_post(client, robot, body)["errmsg"] == "token is not exist"
    assert not RobotMessage.objects.exists()


def test_more_than_20_robot_messages_a_minute_mute_the_robot_for_10_minutes(client, seeded):
    robot, body = Robot.objects.get(), {"msgtype": "text", "text": {"content": "hi"}}
    answers = [robot_post(client, robot, body)["errcode"] for _ in range(21)]
    assert answers == [0] * 20 + [410100]
    robot.refresh_from_db()
    assert robot.penalty_until > timezone.now() + timedelta(minutes=9)
    RobotMessage.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert robot_post(client, robot, body)["errcode"] == 410100
