"""Kingdee's request envelopes and response shapes (reference §2.3, §3.4, §6.1)."""

import json
from dataclasses import dataclass

from django.http import HttpResponse

SESSION_LOST = "会话信息已丢失，请重新登录"
CALL_LIMITED = "调用限制：接口调用过于频繁，请稍后再试！"
SESSION_COOKIE = "kdservice-sessionid"
ASPNET_COOKIE = "ASP.NET_SessionId"


class BadRequest(ValueError):
    """A request Kingdee cannot act on; answered with its MsgCode (8: parameter error)."""

    def __init__(self, message, msg_code=8):
        super().__init__(message)
        self.message, self.msg_code = message, msg_code


@dataclass
class Call:
    """One WebAPI request: the service's method (lower case) and its parameters by name."""

    request: object
    method: str
    params: dict
    faults: object = None
    session: object = None

    def data(self):
        data = self.params.get("data")
        if data in (None, ""):
            return {}
        if not isinstance(data, (dict, list)):
            raise BadRequest("data 参数不是合法的JSON对象")
        return data


def get(mapping, key, default=None):
    """A key of a Kingdee JSON object, matched case-insensitively."""
    if not isinstance(mapping, dict):
        return default
    if key in mapping:
        return mapping[key]
    lower = key.lower()
    return next((value for name, value in mapping.items() if name.lower() == lower), default)


def truthy(value, default=False):
    """Kingdee's booleans come as JSON booleans or as the strings "true"/"false"."""
    if value in (None, ""):
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _maybe_json(value):
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise BadRequest(f"参数不是合法的JSON：{exc}") from exc
    return value


def read_params(request, names):
    """The parameters of any of the three envelopes, by lower-case name."""
    body = _read_body(request)
    lowered = {str(key).lower(): value for key, value in body.items()}
    if "parameters" in lowered:
        positional = _maybe_json(lowered["parameters"])
        if not isinstance(positional, list):
            positional = [positional]
        params = dict(zip(names, positional))
    else:
        params = {name: lowered[name] for name in names if name in lowered}
    return {name: _maybe_json(value) if name == "data" else value for name, value in params.items()}


def _read_body(request):
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {key: request.POST.get(key) for key in request.POST}
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"请求内容不是合法的JSON：{exc}") from exc
    if isinstance(body, list):
        return {"parameters": body}
    if not isinstance(body, dict):
        raise BadRequest("请求内容必须是JSON对象")
    return body


def error(message, field=None, dindex=0):
    return {"FieldName": field, "Message": message, "DIndex": dindex}


def status(errors=(), entities=(), messages=(), msg_code=0):
    """ResponseStatus: `ErrorCode: 500` only when something failed."""
    errors = list(errors)
    body = {"IsSuccess": not errors, "Errors": errors, "SuccessEntitys": list(entities),
            "SuccessMessages": list(messages), "MsgCode": msg_code}
    return {"ErrorCode": 500, **body} if errors else body


def failure(message, msg_code, field=None):
    return {"Result": {"ResponseStatus": status([error(message, field)], msg_code=msg_code)}}


def session_lost():
    return failure(SESSION_LOST, 1)


def json_response(payload, status_code=200):
    body = json.dumps(payload, ensure_ascii=False, default=str)
    return HttpResponse(body, status=status_code, content_type="application/json; charset=utf-8")
