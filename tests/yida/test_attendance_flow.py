"""An attendance month becomes one summary bill per employee in the sandbox Kingdee; a run again writes nothing;
a correction in DingTalk and a backfill over the booking day update that employee's bill, never a second one; a
person who left during the month is booked for the days they worked."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations import engine
from integrations.adapters.attendance import BEIJING
from integrations.models import SyncRecord
from sandbox.dingtalk import attendance
from sandbox.dingtalk.models import Employee
from sso.models import IdentityMap
from tests.yida.conftest import ATTENDANCE, bills

pytestmark = pytest.mark.django_db(transaction=True)
FORM = "PAEZ_AttendanceSummary"


def previous_month():
    today = datetime.now(BEIJING).date()
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def month_sum(userid, alias):
    start, end = previous_month()
    return sum(Decimal(str(values[alias])) for values in attendance.days_of(userid, start, end).values())


def test_a_month_is_booked_once_per_employee_and_a_correction_updates_without_duplicating(world):
    day = min(datetime.now(BEIJING).day, 28)
    scheme = world.scheme(ATTENDANCE, day_of_month=day)
    start, _end = previous_month()
    month = f"{start:%Y-%m}"
    people = list(Employee.objects.filter(active=True))

    run = engine.run_scheme(scheme.pk)

    assert run.failed_count == 0, [r.error for r in SyncRecord.objects.filter(status="failed")]
    found = bills(FORM)
    assert sorted(found) == sorted(f"{p.userid}@{month}" for p in people)
    assert all(len(rows) == 1 for rows in found.values())
    person = next(p for p in people if any(
        values["attendance_days"] == 1 for values in attendance.days_of(p.userid, *previous_month()).values()))
    bill = found[f"{person.userid}@{month}"][0].model
    assert bill["FPeriod"] == month and bill["FEmployeeId"]["FNumber"] == person.job_number
    assert Decimal(str(bill["FActualDays"])) == month_sum(person.userid, "attendance_days")
    assert Decimal(str(bill["FLateMinutes"])) == month_sum(person.userid, "late_minute")
    assert {row["FLeaveType"] for row in bill["FLeaveEntity"]} >= {"事假", "病假", "年假"}

    world.clear_calls()
    assert engine.run_scheme(scheme.pk).failed_count == 0
    assert world.kingdee_writes() == []  # the month was booked: the next runs list nothing

    generated = attendance.days_of(person.userid, *previous_month())
    workday = next(day for day, values in generated.items() if values["attendance_days"] == 1)
    before = found[f"{person.userid}@{month}"][0]
    world.correct(corrections=[
        {"userid": person.userid, "date": f"{workday:%Y-%m-%d}", "column": "出勤天数", "value": "0"},
        {"userid": person.userid, "date": f"{workday:%Y-%m-%d}", "column": "事假", "value": "1"},
        {"userid": person.userid, "date": f"{workday:%Y-%m-%d}", "column": "迟到次数", "value": "0"},
        {"userid": person.userid, "date": f"{workday:%Y-%m-%d}", "column": "迟到时长", "value": "0"}])
    world.clear_calls()

    rerun = engine.run_scheme(scheme.pk, since=timezone.now() - timedelta(days=10))

    assert rerun.failed_count == 0, rerun.error
    after = bills(FORM)
    assert sorted(after) == sorted(found) and all(len(rows) == 1 for rows in after.values())
    corrected = after[f"{person.userid}@{month}"][0]
    assert (corrected.fid, corrected.number) == (before.fid, before.number)
    assert Decimal(str(corrected.model["FActualDays"])) == month_sum(person.userid, "attendance_days")
    assert Decimal(str(corrected.model["FLeaveDays"])) == sum(month_sum(person.userid, name)
                                                              for name in attendance.LEAVE_TYPES)
    assert Decimal(str(corrected.model["FActualDays"])) == Decimal(str(before.model["FActualDays"])) - 1
    assert world.kingdee_writes() == ["DynamicFormService.BatchSave"]  # one save: the corrected employee only


def test_an_employee_who_left_during_the_month_is_booked_for_the_days_they_worked(world):
    day = min(datetime.now(BEIJING).day, 28)
    start, end = previous_month()
    month = f"{start:%Y-%m}"
    leaver = Employee.objects.filter(active=True).order_by("userid")[3]
    left_on = start + timedelta(days=14)
    Employee.objects.filter(pk=leaver.pk).update(
        active=False, left_at=datetime(left_on.year, left_on.month, left_on.day, 18, tzinfo=BEIJING))
    IdentityMap.objects.filter(dingtalk_userid=leaver.userid).update(active=False)  # as the org sync leaves it
    earlier = Employee.objects.filter(active=True).order_by("userid")[4]  # left before the month began
    Employee.objects.filter(pk=earlier.pk).update(
        active=False, left_at=datetime(start.year, start.month, 1, tzinfo=BEIJING) - timedelta(days=3))

    run = engine.run_scheme(world.scheme(ATTENDANCE, day_of_month=day).pk)

    assert run.failed_count == 0, [r.error for r in SyncRecord.objects.filter(status="failed")]
    found = bills(FORM)
    assert f"{leaver.userid}@{month}" in found and f"{earlier.userid}@{month}" not in found
    bill = found[f"{leaver.userid}@{month}"][0].model
    assert bill["FEmployeeId"]["FNumber"] == leaver.job_number
    worked = attendance.days_of(leaver.userid, start, end)
    assert all(values["attendance_days"] == 0 for day_, values in worked.items() if day_ > left_on)
    assert Decimal(str(bill["FActualDays"])) == month_sum(leaver.userid, "attendance_days") > 0
    assert len(found) == Employee.objects.filter(active=True).count() + 1
