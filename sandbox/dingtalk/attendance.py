"""Attendance reports of the seeded employees (round 2 §5): columns with org-specific ids and stable aliases, one
value per person per day (strings, as DingTalk answers), leave by type, and corrections through the door.

A leaver keeps the days up to the one they left on (the report still answers for them; only the contact APIs
forget them). Values are generated from the userid and the day, so every month of every person is reproducible without
storing it; `AttendanceCorrection` rows replace a generated value (a late leave request, an approved overtime).
DingTalk's quirk is kept: 应出勤天数 reads 0 for days more than 15 days before today.
"""

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from sandbox import roster
from sandbox.dingtalk.models import AttendanceCorrection, Employee

BEIJING = ZoneInfo("Asia/Shanghai")
SHOULD = "should_attendance_days"
# (name, alias, type, sub_type): the first five as in the reference's example; the others plausible.
COLUMNS = [
    ("应出勤天数", SHOULD, 0, 0), ("出勤班次", "attendance_class", 0, 2), ("出勤天数", "attendance_days", 0, 0),
    ("休息天数", "rest_days", 0, 0), ("迟到次数", "late_times", 0, 0), ("迟到时长", "late_minute", 0, 0),
    ("早退次数", "leave_early_times", 0, 0), ("旷工天数", "absenteeism_days", 0, 0),
    ("加班时长", "overtime_duration", 0, 0),
]
LEAVE_TYPES = ["事假", "病假", "年假", "调休", "婚假", "产假"]
DECAY_DAYS = 15


def column_ids(seed=roster.DEFAULT_SEED):
    """{alias: id}: ids are per organisation (here: per seed), never hard-coded by clients."""
    rng = random.Random(f"{seed}-attendance-columns")
    base = 377437000 + rng.randint(0, 900) * 10
    return {alias: base + index * 3 + 283 for index, (_name, alias, _type, _sub) in enumerate(COLUMNS)}


def columns(seed=roster.DEFAULT_SEED):
    ids = column_ids(seed)
    return [{"id": ids[alias], "name": name, "alias": alias, "type": kind, "sub_type": sub, "status": 0,
             "expression_id": ids[alias] - 7000} for name, alias, kind, sub in COLUMNS]


def generated_day(employee, day):
    """{alias or leave name: number} of one person on one day."""
    values = {alias: 0 for _name, alias, _type, _sub in COLUMNS if alias != "attendance_class"}
    values.update({name: 0 for name in LEAVE_TYPES})
    today = datetime.now(BEIJING).date()
    left = employee.left_at.astimezone(BEIJING).date() if employee.left_at else None
    if day > today or (employee.hired_date and day < employee.hired_date) or (left and day > left):
        return values
    rng = random.Random(f"{employee.userid}|{day:%Y-%m-%d}")
    if day.weekday() >= 5:
        values["rest_days"] = 1
        if rng.random() < 0.08:
            values["overtime_duration"] = rng.choice([2, 4, 8])
        return values
    values[SHOULD] = 1
    roll = rng.random()
    leave = 0
    if roll < 0.03:
        leave = values["事假"] = rng.choice([0.5, 1])
    elif roll < 0.05:
        leave = values["病假"] = 1
    elif roll < 0.08:
        leave = values["年假"] = 1
    elif roll < 0.085:
        values["absenteeism_days"] = 1
        leave = 1
    values["attendance_days"] = 1 - leave
    if values["attendance_days"] and rng.random() < 0.08:
        values["late_times"], values["late_minute"] = 1, rng.randint(3, 45)
    if values["attendance_days"] and rng.random() < 0.02:
        values["leave_early_times"] = 1
    if values["attendance_days"] == 1 and rng.random() < 0.2:
        values["overtime_duration"] = rng.choice([1, 1.5, 2, 3])
    return values


def days_of(userid, start, end):
    """{day: values} for start..end inclusive, with the corrections applied."""
    employee = Employee.objects.filter(userid=userid).first()
    if employee is None:
        return None
    corrections = {}
    for row in AttendanceCorrection.objects.filter(userid=userid, day__gte=start, day__lte=end):
        corrections.setdefault(row.day, {})[row.column] = row.value
    found, day = {}, start
    while day <= end:
        values = generated_day(employee, day)
        for column, value in corrections.get(day, {}).items():
            values[alias_of(column)] = _number(value)
        found[day] = values
        day += timedelta(days=1)
    return found


def alias_of(column):
    """A column's alias from its alias or its name; a leave type stays its name."""
    return next((alias for name, alias, _type, _sub in COLUMNS if column in (name, alias)), column)


def rendered(alias, value, day):
    """A day's value as DingTalk sends it: a string; 应出勤天数 decays to 0 after 15 days."""
    if alias == "attendance_class":
        return "默认班次" if day.weekday() < 5 else "休息"
    if alias == SHOULD and (datetime.now(BEIJING).date() - day).days > DECAY_DAYS:
        value = 0
    return f"{float(value or 0):.1f}"


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if number == int(number) else number


class Refused(ValueError):
    pass


@transaction.atomic
def correct(change):
    """One correction from the door: `{"userid", "date": "yyyy-MM-dd", "column": name|alias|leave type, "value"}`."""
    userid, column = str(change.get("userid") or ""), str(change.get("column") or "")
    if not Employee.objects.filter(userid=userid).exists():
        raise Refused(f"找不到该用户：{userid}")
    if alias_of(column) == column and column not in LEAVE_TYPES:
        raise Refused(f"没有考勤列或假期类型“{column}”")
    try:
        day = date.fromisoformat(str(change.get("date")))
    except ValueError:
        raise Refused("date 必须是 yyyy-MM-dd") from None
    value = str(change.get("value", ""))
    try:
        float(value)
    except ValueError:
        raise Refused("value 必须是数字") from None
    AttendanceCorrection.objects.update_or_create(userid=userid, day=day, column=alias_of(column),
                                                  defaults={"value": value})
    return {"userid": userid, "date": f"{day:%Y-%m-%d}", "column": alias_of(column), "value": value}
