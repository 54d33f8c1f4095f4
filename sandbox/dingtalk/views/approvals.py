"""Approval APIs of both generations (reference §3): id lists, details, comments."""

import json
import random
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.utils import timezone

from sandbox.dingtalk import approvals, forms, render
from sandbox.dingtalk.models import ApprovalInstance, Employee, ProcessTemplate
from sandbox.dingtalk.views.gate import OAPI, V1, Refusal, api, json_response, oapi_ok

PAGE_MAX = 20
V1_STATUSES = {"RUNNING", "TERMINATED", "COMPLETED"}


class WindowError(Exception):
    """Which end of the window is wrong: "start" or "end"."""


def _millis(value, name, code):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refusal(code, f"参数{name}不合法") from None


def window(start_ms, end_ms):
    """The start-time window, under DingTalk's 120/365-day rules."""
    now = timezone.now()
    start = datetime.fromtimestamp(start_ms / 1000, dt_timezone.utc)
    if end_ms is None:
        if start < now - timedelta(days=120):
            raise WindowError("start")
        return start, now
    end = datetime.fromtimestamp(end_ms / 1000, dt_timezone.utc)
    if start < now - timedelta(days=365):
        raise WindowError("start")
    if end < start or end - start > timedelta(days=120):
        raise WindowError("end")
    return start, end


def _matching(process_code, start, end, userids=None, statuses=None):
    instances = ApprovalInstance.objects.filter(
        template__process_code=process_code, create_time__gte=start, create_time__lte=end)
    if userids:
        instances = instances.filter(originator__userid__in=userids)
    if statuses:
        instances = instances.filter(status__in=statuses)
    return instances.order_by("create_time", "pk").values_list("process_instance_id", flat=True)


def _page(ids, offset, size):
    page = list(ids[offset: offset + size + 1])
    return page[:size], len(page) > size


@api(V1, quota=True)
def instance_ids_query(request):
    p = request.params
    code = p.get("processCode") or ""
    if not ProcessTemplate.objects.filter(process_code=code).exists():
        raise Refusal("invalidProcessCode", "processCode不存在")
    if p.get("startTime") in (None, ""):
        raise Refusal("invalidInstanceListIdsStartTime", "startTime不能为空")
    start_ms = _millis(p["startTime"], "startTime", "invalidInstanceListIdsStartTime")
    end_ms = None if p.get("endTime") in (None, "") else _millis(p["endTime"], "endTime", "invalidEndTime")
    offset, size = _v1_paging(p)
    userids, statuses = p.get("userIds") or [], p.get("statuses") or []
    if not isinstance(userids, list) or len(userids) > 10:
        raise Refusal("invalidUserIds", "userIds最多10个")
    if not isinstance(statuses, list) or not set(statuses) <= V1_STATUSES:
        raise Refusal("invalidParameter", "statuses只能是RUNNING、TERMINATED、COMPLETED")
    try:
        start, end = window(start_ms, end_ms)
    except WindowError as error:
        if str(error) == "start":
            raise Refusal("invalidInstanceListIdsStartTime", "开始时间不合法，不能早于当前时间120天（指定结束时间时365天）") from None
        raise Refusal("invalidEndTime", "结束时间不合法，时间跨度不能超过120天") from None
    page, more = _page(_matching(code, start, end, userids, statuses), offset, size)
    result = {"list": page}
    if more:
        result["nextToken"] = str(offset + size)
    return json_response({"result": result, "success": True})


def _v1_paging(p):
    if not isinstance(p.get("nextToken"), (int, str)) or not str(p["nextToken"]).isdigit():
        raise Refusal("invalidNextToken", "nextToken不合法")
    size = p.get("maxResults")
    if not isinstance(size, int) or not 1 <= size <= PAGE_MAX:
        raise Refusal("invalidMaxResults", f"maxResults不合法，取值范围1~{PAGE_MAX}")
    return int(p["nextToken"]), size


@api(OAPI, quota=True)
def listids(request):
    p = request.params
    code = p.get("process_code") or ""
    if not code:
        raise Refusal(40035, "缺少参数 process_code")
    if p.get("start_time") in (None, ""):
        raise Refusal(40035, "缺少参数 start_time")
    start_ms = _millis(p["start_time"], "start_time", 400002)
    end_ms = None if p.get("end_time") in (None, "") else _millis(p["end_time"], "end_time", 400002)
    size = _millis(p.get("size", PAGE_MAX), "size", 400002)
    cursor = _millis(p.get("cursor", 0), "cursor", 400002)
    if not 1 <= size <= PAGE_MAX or cursor < 0:
        raise Refusal(400002, f"size不合法，最大值{PAGE_MAX}")
    userids = [u for u in str(p.get("userid_list") or "").split(",") if u]
    if len(userids) > 10:
        raise Refusal(400002, "userid_list最多10个")
    try:
        start, end = window(start_ms, end_ms)
    except WindowError as error:
        # DingTalk reports a too-old start with this misleading text (reference §3.1).
        message = "结束时间早于开始时间" if str(error) == "start" else "时间跨度不能超过120天"
        raise Refusal(400002, message) from None
    page, more = _page(_matching(code, start, end, userids), cursor, size)
    result = {"list": page}
    if more:
        result["next_cursor"] = cursor + size
    return oapi_ok(result=result)


def _instance(instance_id, family):
    instance = (ApprovalInstance.objects.select_related("originator", "template")
                .filter(process_instance_id=instance_id or "").first())
    if instance is None:
        if family == V1:
            raise Refusal("processInstanceNotExist", "审批实例不存在")
        raise Refusal(400002, "审批实例不存在")
    return instance


@api(V1, methods=("GET",), quota=True)
def process_instance(request):
    instance_id = request.params.get("processInstanceId", "")
    if not instance_id:
        raise Refusal("invalidParameter", "processInstanceId不能为空")
    return json_response({"result": render.new_instance(_instance(instance_id, V1)), "success": True})


@api(OAPI, quota=True)
def processinstance_get(request):
    instance_id = request.params.get("process_instance_id", "")
    if not instance_id:
        raise Refusal(40035, "缺少参数 process_instance_id")
    return oapi_ok(process_instance=render.old_instance(_instance(instance_id, OAPI)))


@api(V1, quota=True)
def comments(request):
    p = request.params
    instance = _instance(p.get("processInstanceId"), V1)
    text, userid = p.get("text") or "", p.get("commentUserId") or ""
    if not text or len(text) > 1024:
        raise Refusal("invalidParameter", "text不能为空且不能超过1024个字符")
    if not Employee.objects.filter(userid=userid, active=True).exists():
        raise Refusal("invalidParameter", "commentUserId不存在")
    approvals.add_comment(instance, userid, text)
    return json_response({"result": True, "success": True})


@api(OAPI, quota=True)
def processinstance_create(request):
    """topapi/processinstance/create: form values in the create format (reference §3.4)."""
    p = request.params
    template = ProcessTemplate.objects.filter(process_code=p.get("process_code") or "").first()
    if template is None:
        raise Refusal(400002, "process_code对应的审批模板不存在")
    originator = Employee.objects.filter(userid=p.get("originator_user_id") or "", active=True).first()
    if originator is None:
        raise Refusal(60121, "找不到该用户")
    dept = _originator_dept(originator, p.get("dept_id"))
    approvers = [u for u in str(p.get("approvers") or "").split(",") if u] or _default_approvers(originator)
    if Employee.objects.filter(userid__in=approvers, active=True).count() != len(set(approvers)):
        raise Refusal(400002, "approvers中有不存在的用户")
    items = p.get("form_component_values")
    if isinstance(items, str):
        try:
            items = json.loads(items)
        except ValueError:
            raise Refusal(400002, "form_component_values不是合法的JSON") from None
    if not isinstance(items, list) or not items:
        raise Refusal(40035, "缺少参数 form_component_values")
    try:
        values = forms.stored_values(template.form, items, random.Random())
    except forms.FormError as error:
        raise Refusal(400002, str(error)) from None
    cc = [u for u in str(p.get("cc_list") or "").split(",") if u]
    instance = approvals.start(template, originator, dept, values, approvers, cc)
    return oapi_ok(process_instance_id=instance.process_instance_id)


def _originator_dept(originator, dept_id):
    departments = list(originator.departments.all())
    if dept_id in (None, "", -1, "-1"):
        return departments[0]
    chosen = [d for d in departments if str(d.dept_id) == str(dept_id)]
    if not chosen:
        raise Refusal(400002, "dept_id不是发起人所在的部门")
    return chosen[0]


def _default_approvers(originator):
    """The originator's manager, else the first administrator (the sandbox has no approval routing)."""
    manager = originator.manager_userid
    if manager and manager != originator.userid:
        return [manager]
    admin = Employee.objects.filter(admin=True, active=True).exclude(pk=originator.pk).first()
    return [(admin or originator).userid]


@api(V1, methods=("GET",), quota=True)
def form_schema(request):
    code = request.params.get("processCode") or ""
    template = ProcessTemplate.objects.filter(process_code=code).first()
    if template is None:
        raise Refusal("invalidProcessCode", "processCode不存在")
    return json_response({"result": render.form_schema(template), "success": True})
