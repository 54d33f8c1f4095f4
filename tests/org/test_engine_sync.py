"""The org schemes run by the engine against the live sandboxes: first sync, comparisons that write nothing,
moves, leavers, re-hires and Kingdee-local edits, each repaired by one comparison (events off)."""

import pytest
import requests

from integrations import engine
from integrations.market.org import create_org_schemes
from integrations.models import SyncRecord
from sandbox.dingtalk.models import Employee
from sso.models import IdentityMap
from tests.org.helpers import (
    active_people, dingtalk_departments, employee, expected_dept, kingdee_departments, post_dept, staff_number,
)

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


@pytest.fixture
def schemes(world):
    departments, people = create_org_schemes(source_connection=world.dingtalk, target_connection=world.kingdee,
                                             events=False)
    return read_everything(departments), read_everything(people)


def read_everything(scheme):
    """The test company (12 people, some 25 departments) costs more than the minimum budget of 50 calls to read
    in full, so by default it would be compared in two turns; these tests ask for one comparison to repair
    everything (the budgeted turns are tested on their own below)."""
    scheme.source_params = {**scheme.source_params, "calls_per_100": 0}
    scheme.save()
    return scheme


def compare(schemes):
    """What the schedule does every interval: the departments, then the people."""
    return [engine.run_scheme(scheme.pk) for scheme in schemes]


def kingdee_writes(world):
    calls = requests.get(f"{world.base_url}/sandbox/kingdee/_calls", timeout=10).json()["calls"]
    return [c["service"] for c in calls if c["service"].split(".")[-1] in ("Save", "BatchSave", "ExcuteOperation")]


def assert_in_step():
    assert kingdee_departments() == dingtalk_departments()
    for person in active_people():
        record = employee(staff_number(person))
        assert record is not None and not record.forbidden, person.userid
        assert (record.name, record.model["FMobile"], post_dept(record)) == (person.name, person.mobile,
                                                                            expected_dept(person))


def test_the_first_sync_puts_everyone_in_kingdee_and_a_comparison_writes_nothing(world, schemes):
    runs = compare(schemes)

    assert all(run.failed_count == 0 for run in runs), [run.error for run in runs]
    assert_in_step()
    requests.delete(f"{world.base_url}/sandbox/kingdee/_calls", timeout=10)
    again = compare(schemes)
    assert kingdee_writes(world) == [] and all(run.failed_count == 0 for run in again)


def test_one_comparison_repairs_joiners_movers_leavers_and_rehires(world, schemes):
    compare(schemes)
    dept = world.door(action="add_dept", name="跨境电商部", parent_id=1)
    world.door(action="add_user", userid="join01", name="周新", job_number="XH8001", mobile="13811112222",
               dept_id_list=[dept["dept_id"]])
    mover = Employee.objects.filter(active=True).exclude(job_number="").order_by("userid")[1]
    world.door(action="update_user", userid=mover.userid, dept_id_list=[dept["dept_id"]], mobile="13833334444")
    leaver = Employee.objects.filter(active=True).exclude(job_number="").order_by("userid")[2]
    world.door(action="leave", userid=leaver.userid)

    compare(schemes)

    assert_in_step()
    assert employee(leaver.job_number).forbidden
    assert post_dept(employee(mover.job_number)) == f"DT{dept['dept_id']}"
    world.door(action="add_user", userid=leaver.userid, name=leaver.name, job_number=leaver.job_number,
               mobile=leaver.mobile, dept_id_list=[dept["dept_id"]])
    compare(schemes)
    assert not employee(leaver.job_number).forbidden and employee(leaver.job_number).number == leaver.job_number
    assert IdentityMap.objects.filter(dingtalk_userid="join01", kingdee_staff_number="XH8001", active=True).exists()


def test_a_kingdee_edit_becomes_a_conflict_and_keeping_dingtalk_overwrites_it(world, schemes):
    compare(schemes)
    person = Employee.objects.filter(active=True).exclude(job_number="").order_by("userid").first()
    record = employee(person.job_number)
    record.model["FName"] = "金蝶里改的名字"
    record.name = "金蝶里改的名字"
    record.save()
    world.door(action="update_user", userid=person.userid, name=f"{person.name}（新）")

    compare(schemes)

    ledger = SyncRecord.objects.get(scheme=schemes[1], source_key=person.userid)
    assert ledger.status == Status.CONFLICT and ledger.reason_params["fields"]["FName"]["target"] == "金蝶里改的名字"
    assert employee(person.job_number).name == "金蝶里改的名字"
    engine.resolve_conflicts([ledger.pk], keep="source", user=None, note="")
    compare(schemes)
    assert employee(person.job_number).name == f"{person.name}（新）"
    assert SyncRecord.objects.get(pk=ledger.pk).status == Status.SUCCEEDED


def test_a_department_removed_in_dingtalk_is_found_by_the_comparison_and_forbidden_once_empty(world, schemes):
    departments, people = schemes
    dept = world.door(action="add_dept", name="临时项目组", parent_id=1)
    home = world.door(action="add_dept", name="常设部门", parent_id=1)
    world.door(action="add_user", userid="temp01", name="林临", job_number="XH8101", mobile="13811113333",
               dept_id_list=[dept["dept_id"]])
    compare(schemes)
    number = f"DT{dept['dept_id']}"
    assert kingdee_departments()[number][2] is False
    world.door(action="update_user", userid="temp01", dept_id_list=[home["dept_id"]])  # events off: comparison
    world.door(action="remove_dept", dept_id=dept["dept_id"])

    engine.run_scheme(departments.pk)  # the departments first: Kingdee still has the person in it

    record = SyncRecord.objects.get(scheme=departments, source_key=str(dept["dept_id"]))
    assert record.status == Status.FAILED and record.reason_code == "department_has_employees"
    assert kingdee_departments()[number][2] is False
    compare([people, departments])  # the person moves out in Kingdee, then the department is forbidden
    again = SyncRecord.objects.get(pk=record.pk)
    assert kingdee_departments()[number][2] is True, (again.status, again.reason_code, again.error,
                                                      post_dept(employee("XH8101")))
    assert SyncRecord.objects.get(pk=record.pk).status == Status.SUCCEEDED


def test_a_big_company_is_compared_in_turns_within_the_budget(world, monkeypatch):
    """With a budget smaller than a full reading, each comparison reads a share of the departments; a mover
    seen missing from their old department's page is read at once, and every change is in Kingdee after as
    many comparisons as there are shares."""
    from integrations.adapters import contacts

    schemes = create_org_schemes(source_connection=world.dingtalk, target_connection=world.kingdee, events=False)
    monkeypatch.setattr(contacts, "MIN_BUDGET", 20)  # 18 calls per comparison besides the leave records
    for index in range(5):
        world.door(action="add_dept", name=f"事业部{index}", parent_id=1)
    compare(schemes)
    assert_in_step()
    calls = []
    original = contacts.Sweep.share

    def share(self, tree, members, turn):
        chosen = original(self, tree, members, turn)
        calls.append((self.params["records"], self.shares(tree, members), len(chosen)))
        return chosen

    monkeypatch.setattr(contacts.Sweep, "share", share)
    person = Employee.objects.filter(active=True).exclude(job_number="").order_by("userid").first()
    new_dept = world.door(action="add_dept", name="新设部门", parent_id=1)
    world.door(action="update_user", userid=person.userid, dept_id_list=[new_dept["dept_id"]], title="经理")
    shares = None
    for _turn in range(20):
        compare(schemes)
        shares = max(count for _records, count, _chosen in calls)
        if _turn + 1 >= shares:
            break
    departments = len(dingtalk_departments()) + 1
    assert shares > 1 and all(chosen <= departments / 2 for _records, _count, chosen in calls)
    assert_in_step()
    assert post_dept(employee(person.job_number)) == f"DT{new_dept['dept_id']}"


def test_keeping_kingdees_value_leaves_that_field_alone_until_cleared_while_others_sync(world, schemes):
    from integrations import org_events

    compare(schemes)
    person = Employee.objects.filter(active=True).exclude(job_number="").order_by("userid").first()
    record = employee(person.job_number)
    record.model["FName"], record.name = "金蝶的写法", "金蝶的写法"
    record.save()
    world.door(action="update_user", userid=person.userid, name=f"{person.name}（钉钉）")
    compare(schemes)
    ledger = SyncRecord.objects.get(scheme=schemes[1], source_key=person.userid)
    assert ledger.status == Status.CONFLICT

    engine.resolve_conflicts([ledger.pk], keep="target", user=None, note="")
    engine.sync_keys(schemes[1].pk, [person.userid])  # what org_events.keep queues for the worker
    world.door(action="update_user", userid=person.userid, name=f"{person.name}（再改）", mobile="13866667777")
    compare(schemes)

    assert employee(person.job_number).name == "金蝶的写法"  # kept
    assert employee(person.job_number).model["FMobile"] == "13866667777"  # the other fields still follow DingTalk
    assert SyncRecord.objects.get(pk=ledger.pk).status == Status.SUCCEEDED
    org_events.clear_kept(ledger.pk, user=None)
    engine.sync_keys(schemes[1].pk, [person.userid])  # what clear_kept queues for the worker
    assert employee(person.job_number).name == f"{person.name}（再改）"
