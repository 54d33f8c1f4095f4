"""Org chart APIs (reference §5). Only active employees exist; departments hold direct members only."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sandbox.dingtalk import render
from sandbox.dingtalk.models import Department, Employee
from sandbox.dingtalk.views.gate import OAPI, V1, Refusal, api, json_response, oapi_ok

BEIJING = ZoneInfo("Asia/Shanghai")

USERID = re.compile(r"^[A-Za-z0-9_\-$@.]{1,64}$")
MOBILE = re.compile(r"^1\d{10}$")


def _int(value, name):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refusal(400002, f"参数{name}不合法") from None


def _department(params, default=None):
    value = params.get("dept_id", default)
    if value in (None, ""):
        raise Refusal(40035, "缺少参数 dept_id")
    dept = Department.objects.filter(dept_id=_int(value, "dept_id")).first()
    if dept is None:
        raise Refusal(60003, "部门不存在")
    return dept


def _children(dept):
    return Department.objects.filter(parent_id=dept.dept_id)


@api(OAPI)
def department_listsub(request):
    dept = _department(request.params, default=1)
    return oapi_ok(result=[
        {"dept_id": d.dept_id, "name": d.name, "parent_id": d.parent_id, "create_dept_group": True,
         "auto_add_user": True} for d in _children(dept)
    ])


@api(OAPI)
def department_listsubid(request):
    dept = _department(request.params)
    return oapi_ok(result={"dept_id_list": [d.dept_id for d in _children(dept)]})


@api(OAPI)
def department_get(request):
    dept = _department(request.params)
    members = dept.members.filter(active=True)
    body = {"dept_id": dept.dept_id, "name": dept.name, "order": dept.order, "source_identifier": "",
            "dept_manager_userid_list": [e.userid for e in members if dept.dept_id in e.leader_in],
            "org_dept_owner": "", "member_count": members.count(), "code": "", "hide_dept": False,
            "outer_dept": False, "create_dept_group": True, "auto_add_user": True}
    if dept.parent_id is not None:
        body["parent_id"] = dept.parent_id
    return oapi_ok(result=body)


def _members_page(request, max_size=100):
    p = request.params
    dept = _department(p)
    if p.get("cursor") in (None, "") or p.get("size") in (None, ""):
        raise Refusal(40035, "缺少参数 cursor 或 size")
    cursor, size = _int(p["cursor"], "cursor"), _int(p["size"], "size")
    if cursor < 0 or not 1 <= size <= max_size:
        raise Refusal(400002, f"参数size不合法，最大值{max_size}")
    members = dept.members.filter(active=True).prefetch_related("departments").order_by("job_number", "userid")
    members = list(members[cursor: cursor + size + 1])
    more = len(members) > size
    page = {"has_more": more, "list": members[:size]}
    if more:
        page["next_cursor"] = cursor + size
    return page


@api(OAPI)
def user_list(request):
    page = _members_page(request)
    page["list"] = [render.user(e, request.faults, e.dept_ids()) for e in page["list"]]
    return oapi_ok(result=page)


@api(OAPI)
def user_listsimple(request):
    page = _members_page(request)
    page["list"] = [{"userid": e.userid, "name": e.name} for e in page["list"]]
    return oapi_ok(result=page)


@api(OAPI)
def user_listid(request):
    dept = _department(request.params)
    return oapi_ok(result={"userid_list": [e.userid for e in dept.members.filter(active=True)]})


@api(OAPI)
def user_get(request):
    userid = str(request.params.get("userid") or "")
    if not USERID.match(userid):
        raise Refusal(33012, "无效的USERID")
    employee = Employee.objects.filter(userid=userid, active=True).first()
    if employee is None:
        raise Refusal(60121, "找不到该用户")
    return oapi_ok(result=render.user(employee, request.faults, employee.dept_ids()))


@api(OAPI)
def user_getbyunionid(request):
    employee = Employee.objects.filter(unionid=request.params.get("unionid") or "", active=True).first()
    if employee is None:
        raise Refusal(60121, "找不到该用户")
    return oapi_ok(result={"contact_type": 0, "userid": employee.userid})


@api(OAPI)
def user_getbymobile(request):
    mobile = str(request.params.get("mobile") or "")
    if not MOBILE.match(mobile):
        raise Refusal(40104, "无效的手机号码")
    employee = Employee.objects.filter(mobile=mobile, active=True).first()
    if employee is None:
        raise Refusal(60121, "找不到该用户")
    return oapi_ok(result={"userid": employee.userid})


LEAVE_PAGE_MAX = 50


@api(V1, methods=("GET",))
def emp_leave_records(request):
    """v1.0 ListEmpLeaveRecords (round 2 §2.3): who left between startTime and endTime, oldest first."""
    p = request.params
    start, end = _iso(p.get("startTime"), "startTime", required=True), _iso(p.get("endTime"), "endTime")
    size = _int(p.get("maxResults"), "maxResults")
    if not 1 <= size <= LEAVE_PAGE_MAX:
        raise Refusal("invalidParameter.maxResults", f"maxResults 取值范围 1-{LEAVE_PAGE_MAX}")
    offset = _int(p.get("nextToken") or 0, "nextToken")
    leavers = Employee.objects.filter(active=False, left_at__gte=start)
    if end is not None:
        leavers = leavers.filter(left_at__lt=end)
    page = list(leavers.order_by("left_at", "pk")[offset: offset + size + 1])
    body = {"records": [{"userId": e.userid, "name": e.name, "stateCode": "86", "mobile": e.mobile,
                         "leaveTime": e.left_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "leaveReason": ""}
                        for e in page[:size]]}
    if len(page) > size:
        body["nextToken"] = str(offset + size)
    return json_response(body)


def _iso(value, name, required=False):
    if value in (None, ""):
        if required:
            raise Refusal("invalidParameter", f"缺少参数 {name}")
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Refusal("invalidParameter", f"参数 {name} 不是有效的时间") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)
