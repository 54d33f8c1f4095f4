"""The front door of every sandbox API: injected faults, QPS, monthly quota, token check, call log.

Two API families answer errors differently (reference §1): the old "oapi" family with
HTTP 200 and an `errcode`, the new "v1.0" family with HTTP 4xx/5xx and a `code`.
Views raise `Refusal` and the door renders it in the view's family.
"""

import json
import secrets
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from django.db import IntegrityError
from django.db.models import F
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.dingtalk.models import AccessToken, QuotaUsage, SandboxSettings
from sandbox.faults import CallLog, FaultInjector

OAPI, V1 = "oapi", "v1"


class ArrivalLog(CallLog):
    """Calls stamped with their arrival time, recorded once their outcome is known; and, for the detail
    APIs, how many times each instance was served (benchmarks check that none is read twice)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = Counter()

    def record(self, path, outcome, at=None, instance_id=""):
        with self._lock:
            self._entries.append((time.monotonic() if at is None else at, path, outcome))
            if instance_id and outcome == "ok":
                self.reads[instance_id] += 1

    def clear(self):
        with self._lock:
            self._entries.clear()
            self.reads.clear()

    def read_counts(self):
        with self._lock:
            return dict(self.reads)

    def max_in_window(self, path_contains="", outcome="ok", window=1.0):
        times = sorted(t for t, _path, _outcome in self.entries(path_contains, outcome))
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best


injector = FaultInjector()
injector.log = ArrivalLog()
_calls_since_expiry = {"count": 0, "lock": threading.Lock()}


class Refusal(Exception):
    """A business error; `status` is the HTTP status the v1.0 family uses for it."""

    def __init__(self, code, message, status=400, sub_code=None, sub_msg=None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.sub_code, self.sub_msg = sub_code, sub_msg

    def response(self, family):
        if family == OAPI:
            return oapi_error(self.code, self.message, self.sub_code, self.sub_msg)
        return v1_error(self.status, self.code, self.message)


def request_id():
    return secrets.token_hex(7)[:13]


def json_response(payload, status=200):
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def oapi_ok(**payload):
    return json_response({"errcode": 0, "errmsg": "ok", **payload, "request_id": request_id()})


def oapi_error(code, message, sub_code=None, sub_msg=None):
    body = {"errcode": code, "errmsg": message}
    if sub_code is not None:
        body.update(sub_code=sub_code, sub_msg=sub_msg)
    body["request_id"] = request_id()
    return json_response(body)


def v1_error(status, code, message):
    return json_response({"requestid": request_id().upper(), "code": code, "message": message}, status=status)


def ding_error(sub_code, sub_msg):
    """errcode 88 wraps the real cause in sub_code."""
    return oapi_error(88, f"ding talk error[subcode={sub_code},submsg={sub_msg}]", sub_code, sub_msg)


def params(request):
    """The request's parameters: a JSON body, a form body, or the query string."""
    if request.method == "GET":
        return request.GET.dict()
    if request.content_type == "application/json" or request.body[:1] in (b"{", b"["):
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise Refusal("invalidParameter", "请求体不是合法的JSON") from exc
        if not isinstance(data, dict):
            raise Refusal("invalidParameter", "请求体不是合法的JSON")
        return data
    return request.POST.dict()


def api(family, methods=("POST",), auth=True, quota=False):
    """Wrap a view as one DingTalk API; the view reads `request.params` and `request.app`."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def door(request, *args, **kwargs):
            arrived = time.monotonic()
            response, outcome = _admit(view, request, family, methods, auth, quota, args, kwargs)
            injector.log.record(request.path, outcome, at=arrived, instance_id=_detail_of(request))
            return response

        return door

    return decorate


def _admit(view, request, family, methods, auth, quota, args, kwargs):
    if request.method not in methods:
        if family == OAPI:
            return oapi_error(22, "Invalid method"), "error"
        return v1_error(405, "MethodNotAllowed", f"不支持的请求方法 {request.method}"), "error"
    faults = request.faults = current_settings()
    # DingTalk's gateway counts a call when it arrives, before any time spent serving it.
    if not injector.admit(request.path, faults.qps_limit):
        return throttled(family), "throttled"
    injector.delay(faults)
    if injector.roll(faults, faults.timeout_rate):
        time.sleep(faults.timeout_seconds)
        return gateway_timeout(family), "timeout"
    if injector.roll(faults, faults.server_error_rate):
        return server_error(family), "5xx"
    if auth:
        request.app, refusal = authenticate(request, family, faults)
        if refusal is not None:
            return refusal, "auth"
    if quota and not spend_quota(faults):
        return quota_exceeded(family), "quota"
    try:
        request.params = params(request)
        return view(request, *args, **kwargs), "ok"
    except Refusal as refusal:
        return refusal.response(family), "error"


DETAIL_PATHS = ("v1.0/workflow/processInstances", "topapi/processinstance/get")


def _detail_of(request):
    """The instance a detail call read ("" for any other call)."""
    if request.method not in ("GET", "POST") or not request.path.endswith(DETAIL_PATHS):
        return ""
    values = getattr(request, "params", None) or request.GET
    return str(values.get("processInstanceId") or values.get("process_instance_id") or "")


def current_settings():
    try:
        return SandboxSettings.current()
    except IntegrityError:  # two first requests raced to create the row
        return SandboxSettings.current()


def gateway_timeout(family):
    if family == OAPI:
        return oapi_error(15, "Remote service error", "isp.top-remote-connection-timeout", "远程服务调用超时")
    return v1_error(504, "GatewayTimeout", "网关超时")


def server_error(family):
    if family == OAPI:
        return HttpResponse("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
                            "</h1></center><hr><center>Tengine</center></body></html>", status=502,
                            content_type="text/html")
    return v1_error(500, "systemError", "系统错误")


def throttled(family):
    if family == OAPI:
        return oapi_error(90018, "当前企业调用该接口的QPS超过了限制，请降低调用频率")
    return v1_error(403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "当前应用调用该接口的QPS超过了限制")


def quota_exceeded(family):
    if family == OAPI:
        return oapi_error(90020, "当前企业调用接口的月调用量超过了限制")
    return v1_error(403, "Forbidden.AccessDenied.ApiCountLimitForOrg", "当前企业调用接口的月调用量超过了限制")


def authenticate(request, family, faults):
    """(app, None) for a valid token, else (None, the family's answer)."""
    if family == V1:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        if not token:
            return None, v1_error(400, "AuthenticationFailed.MissingParameter", "缺少参数：x-acs-dingtalk-access-token")
    else:
        token = request.GET.get("access_token") or request.POST.get("access_token", "")
        if not token:
            return None, ding_error("40000", "access_token is blank")
    row = AccessToken.objects.select_related("app").filter(token=token).first()
    if row is None or row.expires_at <= timezone.now():
        return None, token_refused(family, faults, expired=row is not None)
    if _expire_now(faults):
        AccessToken.objects.filter(pk=row.pk).update(expires_at=timezone.now())
        return None, token_refused(family, faults, expired=True)
    return row.app, None


def token_refused(family, faults, expired):
    if family == V1:
        return v1_error(400, "InvalidAuthentication", "不合法的access_token")
    if faults.token_error_style == SandboxSettings.TokenErrorStyle.TOP_LEVEL:
        return oapi_error(42001, "access_token超时") if expired else oapi_error(40014, "不合法的access_token")
    return ding_error("40014", "不合法的access_token")


def _expire_now(faults):
    if not faults.expire_token_every:
        return False
    with _calls_since_expiry["lock"]:
        _calls_since_expiry["count"] += 1
        return _calls_since_expiry["count"] % faults.expire_token_every == 0


def reset_counters():
    with _calls_since_expiry["lock"]:
        _calls_since_expiry["count"] = 0


def spend_quota(faults):
    """Count one approval or message call against this month's quota; False once it is used up."""
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    usage, _created = QuotaUsage.objects.get_or_create(month=month)
    if faults.monthly_quota and usage.calls >= faults.monthly_quota:
        return False
    QuotaUsage.objects.filter(pk=usage.pk).update(calls=F("calls") + 1)
    return True


def issue_token(app, faults):
    """The app's valid token, extended, or a new one (reference §2.3)."""
    now = timezone.now()
    expires = now + timedelta(seconds=faults.token_ttl)
    row = AccessToken.objects.filter(app=app, expires_at__gt=now).order_by("-expires_at").first()
    if row is None:
        row = AccessToken.objects.create(app=app, token=secrets.token_hex(16), expires_at=expires)
    else:
        AccessToken.objects.filter(pk=row.pk).update(expires_at=expires)
    return row.token, faults.token_ttl


class DoorRefusal(Exception):
    """A sandbox door's body that is not what the door takes; `response` is the 400 that says why."""

    def __init__(self, message):
        super().__init__(message)
        self.response = JsonResponse({"error": message}, status=400)


def door_changes(request, list_key):
    """(changes, listed): the changes a sandbox door's body asks for, one JSON object or `{list_key: [objects]}`
    applied in order, and whether they came as a list (the door then answers with a list too)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DoorRefusal("body must be a JSON object")
    changes = body.get(list_key) if list_key in body else [body]
    if not isinstance(changes, list) or not all(isinstance(change, dict) for change in changes):
        raise DoorRefusal(f"{list_key} must be a list of JSON objects")
    return changes, list_key in body
