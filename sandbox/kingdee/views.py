"""The WebAPI door: `…/<Namespace>.<Class>.<Method>.common.kdsvc`, with faults injected first."""

import logging
import time

from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from sandbox.faults import FaultInjector
from sandbox.kingdee import accounting, auth, bills, query
from sandbox.kingdee.metadata import canonical, form_for
from sandbox.kingdee.models import KingdeeFaults
from sandbox.kingdee.wire import (
    CALL_LIMITED, BadRequest, Call, failure, json_response, read_params, session_lost, status,
)

logger = logging.getLogger("sandbox.kingdee")


class KingdeeInjector(FaultInjector):
    """Adds a call counter for "lose the session every N calls", restarted when the settings change."""

    def __init__(self):
        super().__init__()
        self._count = 0
        self._count_version = None

    def reset(self, settings):
        super().reset(settings)
        with self._lock:
            self._count, self._count_version = 0, (settings.seed, settings.updated_at)

    def nth_call(self, settings):
        with self._lock:
            if self._count_version != (settings.seed, settings.updated_at):
                self._count, self._count_version = 0, (settings.seed, settings.updated_at)
            self._count += 1
            return self._count


injector = KingdeeInjector()

FORM_DATA = ["formid", "data"]
DYNAMIC_PARAMS = {
    "save": FORM_DATA, "batchsave": FORM_DATA, "draft": FORM_DATA, "submit": FORM_DATA, "audit": FORM_DATA,
    "unaudit": FORM_DATA, "delete": FORM_DATA, "view": FORM_DATA, "cancelassign": FORM_DATA,
    "excuteoperation": ["formid", "opnumber", "data"], "executeoperation": ["formid", "opnumber", "data"],
    "executebillquery": ["data"], "billquery": ["data"], "querybusinessinfo": ["data"],
}
DYNAMIC_PARAMS.update(accounting.PARAMS)
OPERATIONS = {"submit", "audit", "unaudit", "delete", "cancelassign", "forbid", "enable"}


@csrf_exempt
def service(request, name):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    method = name.split(",")[0].rsplit(".", 1)[-1].lower()
    faults = KingdeeFaults.current()
    injector.delay(faults)
    response, outcome = _transport_fault(faults, method)
    if response is None:
        delayed = injector.roll(faults, faults.timeout_rate)
        response, outcome = _answer(request, method, faults)
        if delayed:  # the work is done, but the answer comes too late for the client
            time.sleep(faults.timeout_seconds)
            outcome = "timeout"
    injector.log.record(_label(name), outcome)
    return response


def _label(name):
    """"DynamicFormService.Save" from "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save"."""
    return ".".join(name.split(",")[0].split(".")[-2:])


def _transport_fault(faults, method):
    if not injector.admit("kingdee", faults.qps_limit) or injector.roll(faults, faults.throttle_rate):
        return json_response(_wrap(method, failure(CALL_LIMITED, 14))), "throttled"
    if injector.roll(faults, faults.unavailable_rate):
        return HttpResponse(b"", status=503), "unavailable"
    if injector.roll(faults, faults.server_error_rate):
        page = "<html><body><h1>Server Error in '/K3Cloud' Application.</h1><p>Runtime Error</p></body></html>"
        return HttpResponse(page, status=500, content_type="text/html"), "server_error"
    return None, None


def _answer(request, method, faults):
    try:
        if method in auth.LOGIN_PARAMS:
            return auth.login(Call(request, method, read_params(request, auth.LOGIN_PARAMS[method]), faults))
        if method == "getdatacenterlist":
            return auth.data_centres(Call(request, method, {}, faults))
        if method in DYNAMIC_PARAMS:
            return _dynamic_form(Call(request, method, read_params(request, DYNAMIC_PARAMS[method]), faults))
    except BadRequest as exc:
        return json_response(_wrap(method, failure(exc.message, exc.msg_code))), "bad_request"
    return json_response(failure(f"服务“{method}”不存在！", 4)), "bad_request"


def _dynamic_form(call):
    try:
        session = auth.resolve_session(call.request)
    except auth.SessionLost as lost:
        logger.info("kingdee sandbox: session lost on %s: %s", call.method, lost)
        return json_response(_wrap(call.method, session_lost())), "session_lost"
    if _lose_session(call.faults):
        session.delete()
        return json_response(_wrap(call.method, session_lost())), "session_lost"
    call.session = session
    payload = HANDLERS[call.method](call)
    wrapped = _wrap(call.method, payload) if isinstance(payload, dict) else payload
    response = auth.set_session_cookies(json_response(wrapped), session)
    return response, _outcome(payload)


def _lose_session(faults):
    every = faults.session_loss_every
    if every and injector.nth_call(faults) % every == 0:
        return True
    return injector.roll(faults, faults.session_loss_rate)


def _wrap(method, payload):
    """ExecuteBillQuery answers its errors inside [[…]]; everything else as the bare object."""
    return [[payload]] if method == "executebillquery" else payload


def _outcome(payload):
    status_ = payload.get("Result", {}).get("ResponseStatus") if isinstance(payload, dict) else None
    if not status_ or status_.get("IsSuccess"):
        return "ok"
    return "partial" if status_.get("SuccessEntitys") else "business_error"


def _save(call):
    form = bills.with_entities(bills.form_of(call), call.data())
    outcomes = bills.save_packages(form, call.data(), batch=call.method == "batchsave", draft=call.method == "draft",
                                   inject=lambda: injector.roll(call.faults, call.faults.item_error_rate))
    return bills.save_result(outcomes)


def _operate(call):
    operation = call.method
    if operation in ("excuteoperation", "executeoperation"):
        operation = str(call.params.get("opnumber") or "").lower()
        if operation not in OPERATIONS:
            raise BadRequest(f"不支持的操作代码“{call.params.get('opnumber') or ''}”！", msg_code=3 if not
                             operation else 12)
    return bills.operate(bills.form_of(call), operation, call.data())


def _view(call):
    form = bills.form_of(call)
    record = query.view(form, call.data())
    if record is None:
        return failure(f"{form.caption}数据不存在或已被删除！", 10)
    return {"Result": {"ResponseStatus": status(), "Result": record}}


def _execute_bill_query(call):
    refusal = accounting.refuses_query((call.data() or {}).get("FormId") if isinstance(call.data(), dict) else "")
    if refusal:
        return refusal
    try:
        _keys, rows = query.run_query(call.data())
    except BadRequest as exc:
        return failure(exc.message, exc.msg_code)
    return rows


def _bill_query(call):
    try:
        keys, rows = query.run_query(call.data())
    except BadRequest as exc:
        return failure(exc.message, exc.msg_code)
    return [dict(zip(keys, row)) for row in rows]


def _business_info(call):
    """The form's metadata: entities (the header is FBillHead) and their fields, with captions per lcid."""
    form = form_for(str(call.data().get("FormId") or call.data().get("formid") or ""))

    def name(caption):
        return [{"Key": 2052, "Value": caption}]

    def fields(captions, references):
        return [{"Key": canonical(key), "FieldName": key, "Name": name(caption), "LookUpObjectFormId":
                 references.get(key) or None} for key, caption in captions.items()]

    header = {"Key": "FBillHead", "Name": name(form.caption), "EntityType": "HeadEntity",
              "Fields": fields(form.fields, form.references)}
    entries = [{"Key": e.key, "Name": name(e.caption), "EntityType": "SubEntryEntity" if e.parent else "EntryEntity",
                **({"ParentKey": e.parent} if e.parent else {}), "Fields": fields(e.fields, e.references)}
               for e in form.entities]
    info = {"Id": form.form_id, "Name": name(form.caption), "PkFieldName": form.pk, "Entrys": [header, *entries]}
    return {"Result": {"ResponseStatus": status(), "NeedReturnData": info}}


HANDLERS = {
    "save": _save, "batchsave": _save, "draft": _save, "view": _view, "executebillquery": _execute_bill_query,
    "billquery": _bill_query, "querybusinessinfo": _business_info,
    **{name: _operate for name in ("submit", "audit", "unaudit", "delete", "cancelassign", "excuteoperation",
                                   "executeoperation")},
    **accounting.HANDLERS,
}
