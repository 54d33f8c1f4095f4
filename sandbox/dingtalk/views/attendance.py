"""Attendance report APIs (round 2 §5): getattcolumns, getcolumnval (one user, ≤ 20 columns, ≤ 31 days),
getleavetimebynames (≤ 20 leave names, ≤ 225 days back; keys without underscores), v1.0 columnValues/query
(several users, epoch-ms dates); and the door `POST /sandbox/dingtalk/_attendance` for corrections."""

from datetime import datetime, timedelta

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox.dingtalk import attendance
from sandbox.dingtalk.views.gate import OAPI, V1, DoorRefusal, Refusal, api, door_changes, json_response, oapi_ok

BEIJING = attendance.BEIJING
MAX_COLUMNS = 20
MAX_SPAN = timedelta(days=31)
LEAVE_REACH = timedelta(days=225)
MAX_USERS = 50
OAPI_TIME = "%Y-%m-%d %H:%M:%S"


def _oapi_time(p, name):
    if p.get(name) in (None, ""):
        raise Refusal(40035, f"缺少参数 {name}")
    try:
        return datetime.strptime(str(p[name]), OAPI_TIME).date()
    except ValueError:
        raise Refusal(400002, f"参数{name}格式不正确，应为 yyyy-MM-dd HH:mm:ss") from None


def _span(start, end):
    if end < start:
        raise Refusal(400002, "结束时间不能早于开始时间")
    if end - start > MAX_SPAN:
        raise Refusal(400002, "时间跨度不能超过31天")


def _days(userid, start, end, family=OAPI):
    days = attendance.days_of(userid, start, end)
    if days is None:
        raise Refusal(60121 if family == OAPI else "invalidParameter", f"找不到该用户：{userid}")
    return days


def _column_ids(raw, family=OAPI):
    items = raw if isinstance(raw, list) else [item for item in str(raw or "").split(",") if item.strip()]
    known = {str(column_id): alias for alias, column_id in attendance.column_ids().items()}
    if not items:
        raise Refusal(40035 if family == OAPI else "invalidParameter", "缺少参数 column_id_list")
    if len(items) > MAX_COLUMNS:
        raise Refusal(400002 if family == OAPI else "invalidParameter", f"列数量不能超过{MAX_COLUMNS}个")
    unknown = [str(item).strip() for item in items if str(item).strip() not in known]
    if unknown:
        raise Refusal(400002 if family == OAPI else "invalidParameter", f"列id不存在：{','.join(unknown)}")
    return [(int(str(item).strip()), known[str(item).strip()]) for item in items]


@api(OAPI, quota=True)
def getattcolumns(request):
    return oapi_ok(result={"columns": attendance.columns()}, success=True)


@api(OAPI, quota=True)
def getcolumnval(request):
    p = request.params
    if not p.get("userid"):
        raise Refusal(40035, "缺少参数 userid")
    wanted = _column_ids(p.get("column_id_list"))
    start, end = _oapi_time(p, "from_date"), _oapi_time(p, "to_date")
    _span(start, end)
    days = _days(str(p["userid"]), start, end)
    vals = [{"column_vo": {"id": column_id},
             "column_vals": [{"date": f"{day:%Y-%m-%d} 00:00:00", "value": attendance.rendered(alias, values.get(alias),
                                                                                               day)}
                             for day, values in days.items()]} for column_id, alias in wanted]
    return oapi_ok(result={"column_vals": vals}, success=True)


@api(OAPI, quota=True)
def getleavetimebynames(request):
    p = request.params
    if not p.get("userid"):
        raise Refusal(40035, "缺少参数 userid")
    names = [name.strip() for name in str(p.get("leave_names") or "").split(",") if name.strip()]
    if not names:
        raise Refusal(40035, "缺少参数 leave_names")
    if len(names) > MAX_COLUMNS:
        raise Refusal(400002, f"假期类型不能超过{MAX_COLUMNS}个")
    start, end = _oapi_time(p, "from_date"), _oapi_time(p, "to_date")
    if start < datetime.now(BEIJING).date() - LEAVE_REACH:
        raise Refusal(400002, "开始时间不能早于225天前")
    _span(start, end)
    days = _days(str(p["userid"]), start, end)
    found = [{"columnvo": {"alias": "leave_", "name": name, "status": 0, "sub_type": 0, "type": 0},
              "columnvals": [{"date": f"{day:%Y-%m-%d} 00:00:00", "value": f"{float(values.get(name, 0)):.1f}"}
                             for day, values in days.items()]} for name in names]
    return oapi_ok(result={"columns": found}, success=True)


@api(V1, quota=True)
def column_values(request):
    """`GetColumnvals` POST /v1.0/attendance/columnValues/query."""
    p = request.params
    userids = p.get("userIds")
    if not isinstance(userids, list) or not userids:
        raise Refusal("invalidParameter", "缺少参数 userIds")
    if len(userids) > MAX_USERS:
        raise Refusal("invalidParameter", f"userIds 不能超过{MAX_USERS}个")
    wanted = _column_ids(p.get("columnIdList"), V1)
    try:
        start = datetime.fromtimestamp(int(p.get("fromDate")) / 1000, BEIJING).date()
        end = datetime.fromtimestamp(int(p.get("toDate")) / 1000, BEIJING).date()
    except (TypeError, ValueError):
        raise Refusal("invalidParameter", "fromDate/toDate 必须是毫秒时间戳") from None
    if end < start or end - start > MAX_SPAN:
        raise Refusal("invalidParameter", "时间跨度不能超过31天")
    result = []
    for userid in userids:
        days = _days(str(userid), start, end, V1)
        result.append({"userId": userid, "columnData": [
            {"id": column_id, "fixedValue": "0", "columnValues": [
                {"date": int(datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp() * 1000),
                 "value": attendance.rendered(alias, values.get(alias), day)} for day, values in days.items()]}
            for column_id, alias in wanted]})
    return json_response({"result": result})


@csrf_exempt
@require_POST
def door(request):
    """Body: one correction `{"userid", "date", "column", "value"}` or `{"corrections": [{…}, …]}`."""
    try:
        changes, _listed = door_changes(request, "corrections")
    except DoorRefusal as refusal:
        return refusal.response
    done = []
    for change in changes:
        try:
            done.append(attendance.correct(change))
        except attendance.Refused as refusal:
            return JsonResponse({"error": str(refusal), "done": done}, status=400,
                                json_dumps_params={"ensure_ascii": False})
    return JsonResponse({"done": done}, json_dumps_params={"ensure_ascii": False})
