import json
import time

import pytest

from sandbox import roster
from sandbox.dingtalk import approvals
from sandbox.dingtalk.models import ApprovalInstance, Comment

pytestmark = pytest.mark.django_db
BASE = "/sandbox/dingtalk/"
DAY = 86400 * 1000


@pytest.fixture
def token(client, seeded):
    app = seeded["dingtalk"]
    return client.get(BASE + "gettoken", {"appkey": app["app_key"], "appsecret": app["app_secret"]}).json()[
        "access_token"]


def now_ms():
    return int(time.time() * 1000)


def listids(client, token, **body):
    body = {"process_code": roster.EXPENSE_PROCESS_CODE, "start_time": now_ms() - 100 * DAY, **body}
    return client.post(f"{BASE}topapi/processinstance/listids?access_token={token}", json.dumps(body),
                       content_type="application/json").json()


def query(client, token, **body):
    body = {"processCode": roster.EXPENSE_PROCESS_CODE, "startTime": now_ms() - 100 * DAY, "endTime": now_ms(),
            "nextToken": 0, "maxResults": 20, **body}
    return client.post(BASE + "v1.0/workflow/processes/instanceIds/query", json.dumps(body),
                       content_type="application/json", HTTP_X_ACS_DINGTALK_ACCESS_TOKEN=token)


def test_legacy_listing_pages_with_a_cursor_until_it_is_gone(client, token):
    first = listids(client, token, end_time=now_ms(), size=20)["result"]
    second = listids(client, token, end_time=now_ms(), size=20, cursor=first["next_cursor"])["result"]
    assert len(first["list"]) == 20 and first["next_cursor"] == 20
    assert len(second["list"]) == 20 and "next_cursor" not in second


def test_legacy_listing_enforces_the_page_size_and_the_time_window(client, token):
    assert listids(client, token, size=21)["errcode"] == 400002
    assert listids(client, token)["errcode"] == 0  # start only: within 120 days
    too_old = listids(client, token, start_time=now_ms() - 130 * DAY)
    assert too_old["errcode"] == 400002 and too_old["errmsg"] == "结束时间早于开始时间"
    assert listids(client, token, start_time=now_ms() - 200 * DAY, end_time=now_ms() - 90 * DAY)["errcode"] == 0
    assert listids(client, token, start_time=now_ms() - 200 * DAY, end_time=now_ms())["errcode"] == 400002
    assert listids(client, token, start_time=now_ms() - 400 * DAY, end_time=now_ms() - 300 * DAY)["errcode"] == 400002


def test_v1_listing_returns_a_string_next_token_and_checks_its_arguments(client, token):
    answer = query(client, token).json()
    assert answer["success"] is True and answer["result"]["nextToken"] == "20"
    assert query(client, token, nextToken=20).json()["result"].get("nextToken") is None
    assert query(client, token, maxResults=21).json()["code"] == "invalidMaxResults"
    assert query(client, token, userIds=[str(i) for i in range(11)]).json()["code"] == "invalidUserIds"
    assert query(client, token, statuses=["CANCELED"]).status_code == 400
    assert query(client, token, processCode="PROC-NOPE").json()["code"] == "invalidProcessCode"
    assert query(client, token, endTime=now_ms() - 200 * DAY).json()["code"] == "invalidEndTime"
    assert query(client, token, startTime=now_ms() - 400 * DAY, endTime=now_ms() - 300 * DAY).json()[
        "code"] == "invalidInstanceListIdsStartTime"


def test_the_two_detail_apis_speak_their_own_dialects(client, token):
    instance = ApprovalInstance.objects.filter(status="COMPLETED").first()
    old = client.post(f"{BASE}topapi/processinstance/get?access_token={token}",
                      {"process_instance_id": instance.process_instance_id},
                      content_type="application/json").json()["process_instance"]
    new = client.get(BASE + "v1.0/workflow/processInstances", {"processInstanceId": instance.process_instance_id},
                     HTTP_X_ACS_DINGTALK_ACCESS_TOKEN=token).json()["result"]
    assert "process_instance_id" not in old and old["originator_userid"] == new["originatorUserId"]
    assert len(old["create_time"]) == 19 and new["createTime"].endswith("Z") and len(new["createTime"]) == 17
    assert isinstance(old["tasks"][0]["taskid"], str) and isinstance(new["tasks"][0]["taskId"], int)
    assert old["form_component_values"][0]["component_type"] == new["formComponentValues"][0]["componentType"]


def test_changing_state_finishes_a_running_instance_once(seeded):
    instance = ApprovalInstance.objects.filter(status="RUNNING").first()
    assert approvals.change_state(instance, approvals.Action.AGREE)
    assert not approvals.change_state(instance, approvals.Action.REFUSE)
    instance.refresh_from_db()
    assert (instance.status, instance.result) == ("COMPLETED", "agree") and instance.finish_time
    assert instance.operation_records[-1]["type"] == "EXECUTE_TASK_NORMAL"
    assert not [task for task in instance.tasks if task["status"] == "RUNNING"]


def test_a_withdrawn_instance_is_terminated_without_a_result(seeded):
    instance = ApprovalInstance.objects.filter(status="RUNNING").first()
    approvals.change_state(instance, approvals.Action.TERMINATE)
    instance.refresh_from_db()
    assert (instance.status, instance.result) == ("TERMINATED", "")


def test_a_comment_needs_a_known_user(client, token):
    instance = ApprovalInstance.objects.first()
    body = {"processInstanceId": instance.process_instance_id, "text": "已入账", "commentUserId": "nobody"}
    answer = client.post(BASE + "v1.0/workflow/processInstances/comments", body, content_type="application/json",
                         HTTP_X_ACS_DINGTALK_ACCESS_TOKEN=token)
    assert answer.status_code == 400 and not Comment.objects.exists()
