"""The DingTalk sandbox's contacts door: DingTalk's rules, one org event per change, nothing changed on refusal."""

import pytest

from sandbox.dingtalk.models import App, Department, Employee, PushedEvent
from tests.sandbox_dingtalk.helpers import seeded  # noqa: F401

pytestmark = pytest.mark.django_db
DOOR = "/sandbox/dingtalk/_contacts"


@pytest.fixture
def door(client, seeded):  # noqa: F811
    App.objects.update(push_mode="stream")

    def post(**body):
        return client.post(DOOR, body, content_type="application/json")

    return post


def events(event_type):
    return [event.body for event in PushedEvent.objects.filter(event_type=event_type)]


def test_a_joiner_a_move_and_a_leaver_each_send_their_event(door):
    dept = door(action="add_dept", name="新部门", parent_id=1).json()
    joined = door(action="add_user", userid="door1", name="王新", mobile="13512340000", dept_id_list=[dept["dept_id"]])
    door(action="update_user", userid="door1", title="主管")
    door(action="leave", userid="door1")

    assert joined.status_code == 200 and joined.json()["dept_id_list"] == [dept["dept_id"]]
    assert events("org_dept_create")[0]["deptId"] == [dept["dept_id"]]
    assert events("user_add_org")[0]["userId"] == ["door1"]
    assert events("user_modify_org")[0]["diffInfo"] == {"userid": "door1", "prev": {"title": ""},
                                                         "curr": {"title": "主管"}}
    assert events("user_leave_org")[0]["userId"] == ["door1"] and not Employee.objects.get(userid="door1").active


def test_refusals_change_nothing_and_send_nothing(door):
    busy = Department.objects.filter(members__active=True).exclude(dept_id=1).first()
    before = (Department.objects.count(), Employee.objects.count(), PushedEvent.objects.count())

    answers = [door(action="fire"), door(action="remove_dept", dept_id=busy.dept_id),
               door(action="add_user", userid="x1", name="甲", mobile="12345", dept_id_list=[1]),
               door(action="add_user", userid="x2", name="乙", dept_id_list=[424242]),
               door(action="move_dept", dept_id=busy.parent_id or 1, parent_id=busy.dept_id),
               door(action="leave", userid="nobody")]

    assert [answer.status_code for answer in answers] == [400] * len(answers)
    assert all(answer.json()["error"] for answer in answers)
    assert (Department.objects.count(), Employee.objects.count(), PushedEvent.objects.count()) == before


def test_several_changes_in_one_call_stop_at_the_first_refusal(door):
    answer = door(changes=[{"action": "add_dept", "dept_id": 990001, "name": "甲部", "parent_id": 1},
                           {"action": "add_dept", "dept_id": 990001, "name": "重复", "parent_id": 1},
                           {"action": "add_dept", "dept_id": 990002, "name": "乙部", "parent_id": 1}])
    assert answer.status_code == 400 and len(answer.json()["done"]) == 1
    assert Department.objects.filter(dept_id=990001).exists() and not Department.objects.filter(dept_id=990002).exists()
