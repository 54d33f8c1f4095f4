"""Changes to the imitation org chart, each with the event DingTalk sends for it (reference §4.5, round 2 §3).

Joiners, movers and leavers, new, moved and removed departments: the JSON door `_contacts` and the admin
both come here, so a change and its event are written in one transaction and pushed (HTTP or Stream) after
the commit. Events carry ids only, as DingTalk's do; the portal reads the details back through the APIs.
"""

import re
import secrets

from django.db import transaction
from django.db.models import Max

from sandbox.dingtalk import events
from sandbox.dingtalk.models import Department, Employee

USER_ADD, USER_MODIFY, USER_LEAVE = "user_add_org", "user_modify_org", "user_leave_org"
DEPT_CREATE, DEPT_MODIFY, DEPT_REMOVE = "org_dept_create", "org_dept_modify", "org_dept_remove"
USERID = re.compile(r"^[A-Za-z0-9_\-$@.]{1,64}$")
MOBILE = re.compile(r"^1\d{10}$")
USER_FIELDS = ("name", "job_number", "mobile", "title", "email")
DIFF_NAMES = {"name": "name", "job_number": "jobNumber", "mobile": "mobile", "title": "title", "email": "email"}


class Refused(Exception):
    """The change breaks one of DingTalk's rules; nothing was changed."""


def _millis():
    return str(events.millis(events.timezone.now()))


def user_event(event_type, userids, diff=None):
    data = {"userId": list(userids), "timeStamp": _millis()}
    if diff:
        data["diffInfo"] = diff
    return events.emit_event(event_type, userids[0], data, summary=",".join(userids))


def dept_event(event_type, dept_ids):
    data = {"deptId": [int(d) for d in dept_ids], "timeStamp": _millis()}
    return events.emit_event(event_type, dept_ids[0], data, summary=",".join(str(d) for d in dept_ids))


# --- users -------------------------------------------------------------------------------------


def _clean_user(fields, partial):
    clean = {}
    for name in USER_FIELDS:
        if name in fields:
            clean[name] = str(fields[name] or "").strip()
    if not partial and not clean.get("name"):
        raise Refused("name is required")
    if "name" in clean and not clean["name"]:
        raise Refused("name must not be empty")
    if clean.get("mobile") and not MOBILE.match(clean["mobile"]):
        raise Refused(f"invalid mobile {clean['mobile']!r} (11 digits starting with 1)")
    if "dept_id_list" in fields or not partial:
        clean["departments"] = _departments(fields.get("dept_id_list") or [1])
    return clean


def _departments(dept_ids):
    if not isinstance(dept_ids, list) or not dept_ids:
        raise Refused("dept_id_list must be a non-empty list of department ids")
    try:
        wanted = [int(d) for d in dept_ids]
    except (TypeError, ValueError):
        raise Refused("dept_id_list must hold department ids (numbers)") from None
    found = list(Department.objects.filter(dept_id__in=wanted))
    missing = sorted(set(wanted) - {d.dept_id for d in found})
    if missing:
        raise Refused(f"no such department: {', '.join(map(str, missing))}")
    return sorted(found, key=lambda d: wanted.index(d.dept_id))


def add_user(fields):
    """A joiner, or a leaver hired again (same userid: active again, with the new fields)."""
    userid = str(fields.get("userid") or "").strip() or "u" + secrets.token_hex(6)
    if not USERID.match(userid):
        raise Refused(f"invalid userid {userid!r}")
    clean = _clean_user(fields, partial=False)
    with transaction.atomic():
        employee = Employee.objects.select_for_update().filter(userid=userid).first()
        if employee is not None and employee.active:
            raise Refused(f"userid {userid} is already in the organisation")
        _unique_mobile(clean.get("mobile"), userid)
        departments = clean.pop("departments")
        if employee is None:
            employee = Employee(userid=userid, unionid=secrets.token_hex(12))
        for name, value in clean.items():
            setattr(employee, name, value)
        employee.active, employee.left_at = True, None
        employee.save()
        employee.departments.set(departments)
        user_event(USER_ADD, [userid])
    return employee


def update_user(fields):
    """A mover or any other edit of an active person: only the fields given change."""
    employee = _active_user(fields.get("userid"))
    clean = _clean_user(fields, partial=True)
    with transaction.atomic():
        _unique_mobile(clean.get("mobile"), employee.userid)
        departments = clean.pop("departments", None)
        before = {name: getattr(employee, name) for name in clean}
        for name, value in clean.items():
            setattr(employee, name, value)
        employee.save()
        if departments is not None:
            employee.departments.set(departments)
        changed = [name for name in clean if before[name] != clean[name]]
        diff = {"userid": employee.userid, "prev": {DIFF_NAMES[n]: before[n] for n in changed},
                "curr": {DIFF_NAMES[n]: clean[n] for n in changed}}
        user_event(USER_MODIFY, [employee.userid], diff)
    return employee


def leave(fields):
    """The person leaves: the APIs forget them (60121), they are never deleted."""
    employee = _active_user(fields.get("userid"))
    with transaction.atomic():
        Employee.objects.filter(pk=employee.pk).update(active=False, left_at=events.timezone.now())
        user_event(USER_LEAVE, [employee.userid])
    employee.active = False
    return employee


def _active_user(userid):
    employee = Employee.objects.filter(userid=str(userid or ""), active=True).first()
    if employee is None:
        raise Refused(f"no active user {userid!r}")
    return employee


def _unique_mobile(mobile, userid):
    if mobile and Employee.objects.filter(mobile=mobile, active=True).exclude(userid=userid).exists():
        raise Refused(f"mobile {mobile} belongs to another member")


# --- departments -------------------------------------------------------------------------------


def add_dept(fields):
    name = str(fields.get("name") or "").strip()
    if not name:
        raise Refused("name is required")
    parent = _dept(fields.get("parent_id", 1), "parent_id")
    with transaction.atomic():
        dept_id = fields.get("dept_id")
        if dept_id in (None, ""):
            dept_id = max(Department.objects.aggregate(top=Max("dept_id"))["top"] or 1, 100000000) + 1
        dept_id = _number(dept_id, "dept_id")
        if Department.objects.filter(dept_id=dept_id).exists():
            raise Refused(f"department {dept_id} exists")
        if Department.objects.filter(parent_id=parent.dept_id, name=name).exists():
            raise Refused(f"{parent.name} already has a sub-department named {name}")  # DingTalk: 60008
        dept = Department.objects.create(dept_id=dept_id, name=name, parent_id=parent.dept_id)
        dept_event(DEPT_CREATE, [dept.dept_id])
    return dept


def move_dept(fields):
    """A new parent and/or a new name."""
    dept = _dept(fields.get("dept_id"), "dept_id")
    if dept.dept_id == 1:
        raise Refused("the root department cannot move")
    with transaction.atomic():
        if fields.get("parent_id") not in (None, ""):
            parent = _dept(fields["parent_id"], "parent_id")
            if parent.dept_id in descendants(dept.dept_id) | {dept.dept_id}:
                raise Refused("a department cannot move below itself")
            dept.parent_id = parent.dept_id
        if str(fields.get("name") or "").strip():
            dept.name = str(fields["name"]).strip()
        dept.save()
        dept_event(DEPT_MODIFY, [dept.dept_id])
    return dept


def remove_dept(fields):
    """DingTalk refuses to remove a department that still has members or sub-departments."""
    dept = _dept(fields.get("dept_id"), "dept_id")
    if dept.dept_id == 1:
        raise Refused("the root department cannot be removed")
    if Department.objects.filter(parent_id=dept.dept_id).exists():
        raise Refused("the department has sub-departments")
    if dept.members.filter(active=True).exists():
        raise Refused("the department has members")
    with transaction.atomic():
        dept_id = dept.dept_id
        dept.delete()
        dept_event(DEPT_REMOVE, [dept_id])
    return dept_id


def descendants(dept_id):
    found, frontier = set(), [dept_id]
    while frontier:
        children = list(Department.objects.filter(parent_id__in=frontier).values_list("dept_id", flat=True))
        frontier = [d for d in children if d not in found]
        found.update(frontier)
    return found


def _dept(value, name):
    dept = Department.objects.filter(dept_id=_number(value, name)).first()
    if dept is None:
        raise Refused(f"no such department: {value}")
    return dept


def _number(value, name):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refused(f"{name} must be a number") from None


ACTIONS = {"add_user": add_user, "update_user": update_user, "leave": leave, "add_dept": add_dept,
           "move_dept": move_dept, "remove_dept": remove_dept}


def apply(action, fields):
    """One change by its door name; raises Refused."""
    if action not in ACTIONS:
        raise Refused(f"action must be one of {', '.join(ACTIONS)}")
    return ACTIONS[action](fields)
