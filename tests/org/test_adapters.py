"""The contacts source and the master-data target against the live sandboxes, driven as the engine would."""

import pytest

from integrations.adapters import Change, Listed
from sandbox.dingtalk.models import Department, Employee
from sandbox.kingdee.models import FormRecord
from tests.org.helpers import (
    DEPARTMENTS, EMPLOYEES, active_people, dingtalk_departments, driver, employee, expected_dept, full_pass,
    kingdee_departments, post_dept, staff_number,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_departments_arrive_parents_first_and_a_second_pass_writes_nothing(world):
    parent = world.door(action="add_dept", name="华东大区", parent_id=1)
    child = world.door(action="add_dept", name="杭州办事处", parent_id=parent["dept_id"])
    drv = driver(world, DEPARTMENTS)

    results = full_pass(drv)

    assert set(results.values()) == {Change.CREATE}
    assert kingdee_departments() == dingtalk_departments()
    assert kingdee_departments()[f"DT{child['dept_id']}"][1] == f"DT{parent['dept_id']}"
    again = driver(world, DEPARTMENTS)
    again.written = drv.written
    assert set(full_pass(again).values()) == {Change.UNCHANGED}


def test_a_moved_and_renamed_department_changes_only_its_name_and_parent(world):
    a = world.door(action="add_dept", name="甲", parent_id=1)
    b = world.door(action="add_dept", name="乙", parent_id=1)
    drv = driver(world, DEPARTMENTS)
    full_pass(drv)

    world.door(action="move_dept", dept_id=b["dept_id"], parent_id=a["dept_id"], name="乙（并入甲）")
    results = full_pass(drv)

    assert results[str(b["dept_id"])] == Change.UPDATE
    assert [v for k, v in results.items() if k != str(b["dept_id"])] == [Change.UNCHANGED] * (len(results) - 1)
    assert kingdee_departments()[f"DT{b['dept_id']}"] == ("乙（并入甲）", f"DT{a['dept_id']}", False)


def test_every_active_person_has_one_enabled_employee_with_the_right_fields(world):
    full_pass(driver(world, DEPARTMENTS))
    drv = driver(world, EMPLOYEES)

    full_pass(drv)

    for person in active_people():
        record = employee(staff_number(person))
        assert record is not None and not record.forbidden, person.userid
        assert record.name == person.name and record.model["FMobile"] == person.mobile
        assert post_dept(record) == expected_dept(person)
    assert set(full_pass(drv).values()) == {Change.UNCHANGED}


def test_a_leaver_is_forbidden_never_deleted_and_a_rehire_enables_the_same_employee(world):
    full_pass(driver(world, DEPARTMENTS))
    drv = driver(world, EMPLOYEES)
    full_pass(drv)
    person = Employee.objects.filter(active=True).exclude(job_number="").first()
    world.door(action="leave", userid=person.userid)

    assert drv.sync([Listed(person.userid)]) == {person.userid: "removed"}
    record = employee(person.job_number)
    assert record.forbidden and FormRecord.objects.filter(form_id="BD_Empinfo", number=person.job_number).count() == 1

    world.door(action="add_user", userid=person.userid, name=person.name, job_number=person.job_number,
               mobile=person.mobile, dept_id_list=person.dept_ids())
    results = full_pass(drv)

    assert results[person.userid] == Change.ENABLE
    assert not employee(person.job_number).forbidden and employee(person.job_number).fid == record.fid


def test_a_kingdee_edit_of_a_synced_field_is_a_conflict(world):
    full_pass(driver(world, DEPARTMENTS))
    drv = driver(world, EMPLOYEES)
    full_pass(drv)
    person = Employee.objects.filter(active=True).exclude(job_number="").first()
    record = employee(person.job_number)
    record.model["FMobile"] = "13900000000"
    record.save()
    world.door(action="update_user", userid=person.userid, mobile="13700000000")

    results = full_pass(drv)

    assert results[person.userid] == Change.CONFLICT
    change = next(change for key, change in drv.log if key == person.userid)
    assert change.conflicts == {"FMobile": {"source": "13700000000", "target": "13900000000",
                                            "written": person.mobile}}
    assert employee(person.job_number).model["FMobile"] == "13900000000"


def test_a_department_with_enabled_employees_is_left_for_a_person(world):
    dept = world.door(action="add_dept", name="临时项目组", parent_id=1)
    world.door(action="add_user", userid="tmp1", name="临时工", mobile="13600000001", dept_id_list=[dept["dept_id"]])
    full_pass(driver(world, DEPARTMENTS))
    full_pass(driver(world, EMPLOYEES))
    Department.objects.filter(dept_id=dept["dept_id"]).delete()
    drv = driver(world, DEPARTMENTS)

    results = drv.sync([Listed(str(dept["dept_id"]))])

    assert results[str(dept["dept_id"])].startswith("refused:") and "1" in results[str(dept["dept_id"])]
    assert not kingdee_departments()[f"DT{dept['dept_id']}"][2]
