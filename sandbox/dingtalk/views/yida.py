"""Yida v1.0 APIs (round 2 §4): search with data, get by id, sub-table rows, form definitions; and the door
`POST /sandbox/dingtalk/_yida` that creates or updates an instance the way a person filling the form would.

Every API checks `appType` + `systemToken` (the app's 应用秘钥) and an acting `userId`; responses are the bare
objects of the SDK models (no `result`/`success` wrapper for the searches). Page size is capped at 100 and a
search reaches at most 30 000 rows.
"""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox.dingtalk import yida
from sandbox.dingtalk.models import Employee, YidaApp, YidaForm, YidaInstance
from sandbox.dingtalk.views.gate import V1, Refusal, api, json_response

PAGE_MAX = 100
REACH = 30000


def _required(p, *names):
    missing = [name for name in names if p.get(name) in (None, "")]
    if missing:
        raise Refusal("invalidParameter", f"缺少参数：{', '.join(missing)}")


def _app(p):
    """The app the call names, after its system token and acting user are checked."""
    _required(p, "appType", "systemToken", "userId")
    app = YidaApp.objects.filter(app_type=p["appType"]).first()
    if app is None:
        raise Refusal("invalidParameter", f"应用不存在：{p['appType']}")
    if str(p["systemToken"]) != app.system_token:
        raise Refusal("invalidParameter", "systemToken 与应用不匹配")  # the real code is unconfirmed
    if not Employee.objects.filter(userid=str(p["userId"]), active=True).exists():
        raise Refusal("invalidParameter", f"用户不存在或已离职：{p['userId']}")
    return app


def _form(app, uuid):
    form = YidaForm.objects.filter(app=app, form_uuid=uuid or "").first()
    if form is None:
        raise Refusal("invalidParameter", f"表单不存在：{uuid}")
    return form


def _int(value, name, default):
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Refusal("invalidParameter", f"参数{name}不合法") from None


def _window(instances, p, field, prefix):
    for suffix, lookup, end in (("FromTimeGMT", "gte", False), ("ToTimeGMT", "lt", True)):
        value = p.get(f"{prefix}{suffix}")
        if value in (None, ""):
            continue
        try:
            moment = yida.parse_day(value, end=end)
        except yida.DoorError:
            raise Refusal("invalidParameter", f"参数{prefix}{suffix}格式不正确") from None
        instances = instances.filter(**{f"{field}__{lookup}": moment})
    return instances


def _matches(value, wanted):
    if isinstance(wanted, list) and len(wanted) == 2 and not isinstance(value, list):
        low, high = wanted
        try:
            return float(low) <= float(value) <= float(high)
        except (TypeError, ValueError):
            return False
    if isinstance(value, list):
        wanted = wanted if isinstance(wanted, list) else [wanted]
        return all(item in value for item in wanted)
    return str(wanted) in str(value)


def _filtered(instances, p):
    raw = p.get("searchFieldJson")
    if raw in (None, ""):
        return instances
    if not isinstance(raw, str):  # pitfall 4: an object is silently ignored
        return instances
    try:
        conditions = json.loads(raw)
    except ValueError:
        raise Refusal("invalidParameter", "searchFieldJson 不是合法的JSON") from None
    if not isinstance(conditions, dict) or not conditions:
        return instances
    return [i for i in instances if all(_matches(i.form_data.get(key), wanted) for key, wanted in conditions.items())]


@api(V1, quota=True)
def search(request):
    """`SearchFormDatas` POST /v1.0/yida/forms/instances/search."""
    p = request.params
    app = _app(p)
    _required(p, "formUuid")
    form = _form(app, p["formUuid"])
    page, size = _int(p.get("currentPage"), "currentPage", 1), _int(p.get("pageSize"), "pageSize", 10)
    if page < 1 or not 1 <= size <= PAGE_MAX:
        raise Refusal("invalidParameter", f"pageSize 取值范围 1~{PAGE_MAX}")
    rows = _selected(form, p)
    chunk = rows[(page - 1) * size: page * size]
    names = yida.names_of(chunk)
    return json_response({"currentPage": page, "totalCount": len(rows),
                          "data": [yida.search_row(instance, names) for instance in chunk]})


def _page_of(p, query_page=None):
    source = query_page if query_page is not None else p
    page, size = _int(source.get("pageNumber"), "pageNumber", 1), _int(source.get("pageSize"), "pageSize", 10)
    if page < 1 or not 1 <= size <= PAGE_MAX:
        raise Refusal("invalidParameter", f"pageSize 取值范围 1~{PAGE_MAX}")
    return page, size


def _selected(form, p):
    instances = YidaInstance.objects.filter(form=form).order_by("-modified_at", "-pk")
    instances = _window(instances, p, "created_at", "create")
    instances = _window(instances, p, "modified_at", "modified")
    if p.get("originatorId"):
        instances = instances.filter(originator=p["originatorId"])
    return _filtered(list(instances[:REACH]), p)


@api(V1, quota=True)
def advanced_search(request):
    """`SearchFormDataSecondGeneration` POST /v1.0/yida/forms/instances/advances/queryAll: `pageNumber`, other
    names (`createTimeGMT`, `serialNumber`, `id`, `modifier`) and `<fieldId>_id` companion keys."""
    p = request.params
    app = _app(p)
    _required(p, "formUuid")
    form = _form(app, p["formUuid"])
    page, size = _page_of(p)
    rows = _selected(form, p)
    chunk = rows[(page - 1) * size: page * size]
    names = yida.names_of(chunk)
    return json_response({"pageNumber": page, "totalCount": len(rows),
                          "data": [yida.advanced_row(instance, names) for instance in chunk]})


@api(V1, quota=True)
def id_list(request, app_type, form_uuid):
    """`SearchFormDataIdList` POST /v1.0/yida/forms/instances/ids/{appType}/{formUuid}?pageNumber&pageSize."""
    p = request.params
    app = _app({**p, "appType": app_type})
    form = _form(app, form_uuid)
    page, size = _page_of(p, request.GET)
    rows = _selected(form, p)
    return json_response({"pageNumber": page, "totalCount": len(rows),
                          "data": [instance.form_instance_id for instance in rows[(page - 1) * size: page * size]]})


@api(V1, methods=("GET",), quota=True)
def instance(request, instance_id):
    """`GetFormDataByID` GET /v1.0/yida/forms/instances/{id}."""
    app = _app(request.params)
    found = YidaInstance.objects.filter(form_instance_id=instance_id, form__app=app).select_related("form").first()
    if found is None:
        raise Refusal("invalidParameter", f"表单实例不存在：{instance_id}")
    return json_response(yida.by_id_row(found, yida.names_of([found])))


@api(V1, quota=True)
def processes(request):
    """`GetInstances` POST /v1.0/yida/processes/instances?pageNumber&pageSize: the instances of a process form,
    filtered by modified time, `instanceStatus`, `approvedResult` and originator."""
    p = request.params
    app = _app(p)
    _required(p, "formUuid")
    form = _form(app, p["formUuid"])
    page, size = _page_of(p, request.GET)
    status, result = str(p.get("instanceStatus") or "").upper(), str(p.get("approvedResult") or "").lower()
    if status and status not in yida.STATUSES:
        raise Refusal("invalidParameter", f"参数instanceStatus不合法：{status}")
    rows = [i for i in _selected(form, p) if form.process_code and (not status or i.instance_status == status)
            and (not result or i.approved_result == result)]
    chunk = rows[(page - 1) * size: page * size]
    names = yida.names_of(chunk)
    return json_response({"pageNumber": page, "totalCount": len(rows),
                          "data": [yida.process_row(instance, names) for instance in chunk]})


@api(V1, methods=("GET",), quota=True)
def process(request, instance_id):
    """`GetInstanceById` GET /v1.0/yida/processes/instancesInfos/{id}."""
    app = _app(request.params)
    found = YidaInstance.objects.filter(form_instance_id=instance_id, form__app=app).exclude(
        form__process_code="").select_related("form").first()
    if found is None:
        raise Refusal("invalidParameter", f"流程实例不存在：{instance_id}")
    return json_response(yida.process_row(found, yida.names_of([found])))


@api(V1, methods=("GET",), quota=True)
def inner_table(request, instance_id):
    """`ListTableDataByFormInstanceIdTableId` GET /v1.0/yida/forms/innerTables/{formInstanceId}."""
    p = request.params
    app = _app(p)
    _required(p, "formUuid", "tableFieldId")
    form = _form(app, p["formUuid"])
    found = YidaInstance.objects.filter(form_instance_id=instance_id, form=form).first()
    if found is None:
        raise Refusal("invalidParameter", f"表单实例不存在：{instance_id}")
    page, size = _int(p.get("pageNumber"), "pageNumber", 1), _int(p.get("pageSize"), "pageSize", 10)
    if page < 1 or not 1 <= size <= 50:
        raise Refusal("invalidParameter", "pageSize 取值范围 1~50")
    rows = found.form_data.get(p["tableFieldId"]) or []
    return json_response({"pageNumber": page, "totalCount": len(rows), "data": rows[(page - 1) * size: page * size]})


@api(V1, methods=("GET",), quota=True)
def definitions(request, app_type, form_uuid):
    """`GetFormComponentDefinitionList` GET /v1.0/yida/forms/definitions/{appType}/{formUuid}."""
    app = _app({**request.params, "appType": app_type})
    form = _form(app, form_uuid)
    return json_response({"result": [dict(component) for component in form.components]})


@csrf_exempt
@require_POST
def door(request):
    """Create (no `formInstanceId`) or update an instance. Body: `{"formUuid", "formData": {label or field id:
    value, sub-table: [{column label or id: value}]}, "userId"?, "formInstanceId"?}`; on a process form also
    `"instanceStatus"` (RUNNING, TERMINATED, COMPLETED, ERROR; new instances start RUNNING) and `"approvedResult"`
    (agree / disagree)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("formData", {}), dict):
        return JsonResponse({"error": "body must be a JSON object with formData as an object"}, status=400)
    form = YidaForm.objects.filter(form_uuid=body.get("formUuid") or "").first()
    if form is None:
        return JsonResponse({"error": f"表单不存在：{body.get('formUuid')}"}, status=400)
    userid = body.get("userId") or Employee.objects.filter(active=True).order_by("userid").values_list(
        "userid", flat=True).first()
    try:
        saved = yida.save_instance(form, body.get("formData") or {}, userid, body.get("formInstanceId") or "",
                                   status=str(body.get("instanceStatus") or ""), result=body.get("approvedResult"))
    except yida.DoorError as error:
        return JsonResponse({"error": str(error)}, status=400)
    row = yida.process_row if form.process_code else yida.search_row
    return JsonResponse(row(saved, yida.names_of([saved])), json_dumps_params={"ensure_ascii": False})
