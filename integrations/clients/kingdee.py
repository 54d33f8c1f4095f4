"""The Kingdee Cloud Galaxy WebAPI client (reference: ../shared/reference/kingdee-webapi.md)."""

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from integrations import protocol
from integrations.clients.base import HttpClient
from integrations.clients.errors import AuthError, BusinessError, ConfigurationError, ThrottledError, TransientError

SERVICE_URL = "Kingdee.BOS.WebApi.ServicesStub.{}.common.kdsvc"
SESSION_LOST = "会话信息已丢失"
USER_AGENT = "dingtalk-kingdee-portal (Kingdee WebAPI client)"
# LoginResultType: 1 success; -5 DealWithForm, which administrators may get and Kingdee's own sample accepts.
LOGIN_ACCEPTED = (1, -5)
ATTACHMENT_CHUNK = 4 * 1024 * 1024  # bytes per AttachmentUpLoad call (round 2 §10: ~5 MB per call advised)
CONFIGURATION_CODES = (2, 7, 15)  # no permission, licence error, administrator login forbidden


class SessionLostError(AuthError):
    """MsgCode 1: the session is gone, or (SDK signature mode) the signature was refused."""


class OutcomeUnknownError(TransientError):
    """A Save/BatchSave may have reached Kingdee before it failed: reconcile before writing again."""

    retryable = False


@dataclass
class ItemOutcome:
    """What Kingdee said about one package of a batch (or one bill of an operation), by its index."""

    index: int
    ok: bool
    id: int | None = None
    number: str = ""
    errors: list = field(default_factory=list)  # [{"field": FieldName, "message": Kingdee's text}]

    @property
    def message(self):
        return "；".join(error["message"] for error in self.errors)


class KingdeeClient(HttpClient):
    """Kingdee WebAPI over the shared HttpClient. Thread-safe: one instance may serve many threads.

    Authentication (`auth_mode`):
    - ``signature``: the SDK 8.2.0 headers on every request (`protocol.kingdee_headers`); the
      `kdservice-sessionid` Kingdee returns is stored and echoed, as the SDK does;
    - ``app_secret_login``: `AuthService.LoginByAppSecret`, then the session id on every call;
    - ``password``: `AuthService.ValidateUser`, then the session id on every call.

    Failures, beyond the base class's network/5xx/throttling classes:
    - MsgCode 1 (会话信息已丢失) → the session is dropped (and re-opened by logging in again) and
      the call is repeated once; a second refusal raises `SessionLostError` (an `AuthError`) with
      Kingdee's message. In signature mode a wrong app id/secret/user looks exactly like this
      (reference pitfall 1), so it surfaces after one retry instead of looping;
    - a refused login → `ConfigurationError` with Kingdee's `Message`; HTTP 4xx (a wrong server
      URL) → `ConfigurationError`;
    - MsgCode 14, HTTP 429 → `ThrottledError`; HTTP 5xx or an empty body → `TransientError`;
    - MsgCode 2, 7, 15 → `ConfigurationError`; any other failure → `BusinessError` carrying
      Kingdee's messages (`.errors`, `.payload`).

    Writes are not idempotent. `save`/`batch_save` retry only what never reached Kingdee (the
    connection was refused or could not be opened) and MsgCode 14 / HTTP 429, which Kingdee
    answers before doing anything. A read timeout, a 5xx or an empty body after the request was
    sent raises `OutcomeUnknownError` (a `TransientError`, not retried here): the bill may exist,
    so the caller must first look it up by its dedupe field (e.g. `FTHIRDBILLNO`).
    """

    system = "kingdee"

    def __init__(self, *, base_url, acct_id, username, app_id="", app_secret="", password="", lcid=2052,
                 org_number="0", auth_mode="signature", **common):
        super().__init__(**common)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.acct_id, self.username, self.app_id = acct_id, username, app_id or ""
        self.app_secret, self.password = app_secret or "", password or ""
        self.lcid, self.org_number, self.auth_mode = int(lcid or 2052), str(org_number or "0"), auth_mode
        # Session cookies are ours to keep: the shared requests cookie jar must not send stale ones.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # Re-entrant: a login holds it while its own response stores the new session.
        self._session_lock = threading.RLock()
        self._session_id = ""
        self._aspnet_id = ""
        self._local = threading.local()

    # --- operations ----------------------------------------------------------------------

    def check(self):
        """Log in (or sign) and read the organisation: a short text naming who we are in Kingdee."""
        keys = "FNumber,FName"
        wanted = f"FNumber='{_quote(self.org_number)}'" if self.org_number not in ("", "0") else ""
        rows = self.execute_bill_query("ORG_Organizations", keys, wanted, limit=1)
        organisation = " ".join(str(value) for value in rows[0]) if rows else "-"
        return f"{self.username} @ {self.acct_id}, {organisation}"

    def save(self, form_id, model, **options):
        """One package; returns its ItemOutcome, raises BusinessError with Kingdee's messages."""
        data = {"IsVerifyBaseDataField": True, **options, "Model": model}
        outcome = self._save("Save", form_id, data, 1)[0]
        if not outcome.ok:
            raise BusinessError(outcome.message, system=self.system)
        return outcome

    def batch_save(self, form_id, models, **options):
        """ItemOutcomes in input order: each package succeeds or fails on its own (by DIndex)."""
        models = list(models)
        if not models:
            return []
        data = {"IsVerifyBaseDataField": True, **options, "BatchCount": 0, "Model": models}
        return self._save("BatchSave", form_id, data, len(models))

    def submit(self, form_id, numbers=None, ids=None):
        """ItemOutcomes per bill; a bill already submitted or audited counts as done."""
        return self._operate("Submit", form_id, numbers, ids, done=("已经提交", "已经审核"))

    def audit(self, form_id, numbers=None, ids=None):
        """ItemOutcomes per bill; a bill already audited counts as done."""
        return self._operate("Audit", form_id, numbers, ids, done=("已经审核",))

    def unaudit(self, form_id, numbers=None, ids=None):
        return self._operate("UnAudit", form_id, numbers, ids, done=())

    def delete(self, form_id, numbers=None, ids=None):
        """ItemOutcomes per bill; a bill that no longer exists counts as deleted."""
        return self._operate("Delete", form_id, numbers, ids, done=("不存在或已被删除",))

    def operation(self, form_id, op_number, numbers=None, ids=None):
        """ExcuteOperation (Forbid, Enable …) as ItemOutcomes per record."""
        if not numbers and not ids:
            return []
        body = {"formid": form_id, "opNumber": op_number, "data": _targets(numbers, ids)}
        return self._outcomes(self._call_or_payload("ExcuteOperation", body), len(numbers or ids or []), ())

    def forbid(self, form_id, numbers):
        """Forbid (禁用) base data by number: ItemOutcomes; one already forbidden counts as done."""
        return self._operate_by_name("Forbid", form_id, numbers, done=("已经禁用",))

    def enable(self, form_id, numbers):
        """Enable (反禁用) base data by number: ItemOutcomes; one not forbidden counts as done."""
        return self._operate_by_name("Enable", form_id, numbers, done=("未禁用",))

    def _operate_by_name(self, op_number, form_id, numbers, done):
        numbers = [str(number) for number in numbers or []]
        if not numbers:
            return []
        body = {"formid": form_id, "opNumber": op_number, "data": _targets(numbers, None)}
        outcomes = self._outcomes(self._call_or_payload("ExcuteOperation", body), len(numbers), done)
        for outcome, number in zip(outcomes, numbers):
            outcome.number = outcome.number or number
        return outcomes

    def query_by_numbers(self, form_id, number_key, numbers, field_keys, extra_filter="", chunk=200):
        """Rows of the records whose `number_key` is one of `numbers`, in chunks of `chunk` numbers per query."""
        numbers = list(dict.fromkeys(str(number) for number in numbers))
        for start in range(0, len(numbers), chunk):
            quoted = ",".join(f"'{_quote(number)}'" for number in numbers[start:start + chunk])
            wanted = f"{number_key} in ({quoted})" + (f" and {extra_filter}" if extra_filter else "")
            yield from self.query_all(form_id, field_keys, wanted, f"{number_key} ASC", page_size=10000)

    def view(self, form_id, number=None, id=None):
        """The record as View returns it (ORM property names); BusinessError if it does not exist."""
        data = {"CreateOrgId": 0, "Number": number or "", "Id": str(id or "")}
        payload = self._call("DynamicFormService.View", {"formid": form_id, "data": data})
        return payload["Result"]["Result"]

    def execute_bill_query(self, form_id, field_keys, filter_string="", order_string="", start_row=0, limit=2000):
        """Rows (lists in FieldKeys order); errors inside `[[…]]` raise like any failure."""
        if not isinstance(field_keys, str):
            field_keys = ",".join(field_keys)
        data = {"FormId": form_id, "FieldKeys": field_keys, "FilterString": filter_string,
                "OrderString": order_string, "TopRowCount": 0, "StartRow": start_row, "Limit": limit,
                "SubSystemId": ""}
        return self._call("DynamicFormService.ExecuteBillQuery", {"data": data})

    def query_all(self, form_id, field_keys, filter_string="", order_string="", page_size=2000):
        """Every matching row, page by page (StartRow advances until a short page)."""
        start = 0
        while True:
            rows = self.execute_bill_query(form_id, field_keys, filter_string, order_string, start, page_size)
            yield from rows
            if len(rows) < page_size:
                return
            start += page_size

    def form_fields(self, form_id):
        """[(path, caption)] of the form's fields from its metadata (QueryBusinessInfo): header keys as they
        are, entry keys as `ENTRY[].KEY`, sub-entry keys (an entity with a ParentKey) as `ENTRY[].SUB[].KEY`.
        Empty when Kingdee describes no fields."""
        payload = self._call("DynamicFormService.QueryBusinessInfo", {"data": {"FormId": form_id}})
        info = (payload.get("Result") or {}).get("NeedReturnData") if isinstance(payload, dict) else None
        entities = info.get("Entrys") if isinstance(info, dict) else None
        fields = []
        for index, entity in enumerate(entities if isinstance(entities, list) else []):
            if not isinstance(entity, dict):
                continue
            header = index == 0 or entity.get("EntityType") == "HeadEntity" or entity.get("Key") == "FBillHead"
            prefix = "" if header else f"{entity.get('Key')}[]."
            if not header and entity.get("ParentKey"):  # a sub-entity's rows sit inside its parent's rows
                prefix = f"{entity['ParentKey']}[].{prefix}"
            for field in entity.get("Fields") or []:
                if isinstance(field, dict) and field.get("Key"):
                    fields.append((prefix + str(field["Key"]), _caption(field.get("Name"), self.lcid)))
        return fields

    # --- attachments (round 2 §8) -------------------------------------------------------------

    def attachment_upload(self, form_id, bill_id, bill_number, file_name, content, chunk_size=ATTACHMENT_CHUNK):
        """Upload `content` and bind it to the bill (AttachmentUpLoad): chunk 1 without FileId, later chunks with
        the FileId Kingdee returned, `IsLast: true` on the last (omitted, Kingdee answers success and stores
        nothing). Returns the FileId; raises BusinessError with Kingdee's words."""
        chunks = [content[start:start + chunk_size] for start in range(0, len(content), chunk_size)] or [b""]
        file_id = ""
        for index, part in enumerate(chunks):
            data = {"FileName": file_name, "FormId": form_id, "IsLast": index == len(chunks) - 1,
                    "InterId": str(bill_id), "BillNO": str(bill_number),
                    "SendByte": base64.b64encode(part).decode("ascii")}
            if file_id:
                data["FileId"] = file_id
            payload = self._call("DynamicFormService.AttachmentUpLoad", {"data": data}, write=True)
            file_id = str((payload.get("Result") or {}).get("FileId") or file_id)
        if not file_id:
            raise BusinessError("Kingdee returned no FileId for the attachment", system=self.system)
        return file_id

    def attachment_download(self, file_id):
        """(file name, bytes) of a committed attachment (AttachmentDownLoad)."""
        payload = self._call("DynamicFormService.AttachmentDownLoad", {"data": {"FileId": file_id, "StartIndex": 0}})
        result = payload.get("Result") or {}
        return str(result.get("FileName") or ""), base64.b64decode(result.get("FilePart") or "")

    def signed_headers(self, url, timestamp=None):
        """The SDK 8.2.0 signature headers for `url` (tests compare them with the official SDK)."""
        stamp = int(time.time()) if timestamp is None else timestamp
        return protocol.kingdee_headers(url, self.acct_id, self.username, self.app_id, self.app_secret, self.lcid,
                                        self.org_number, stamp)

    # --- calls, sessions and errors -------------------------------------------------------

    def _save(self, method, form_id, data, count):
        payload = self._call_or_payload(method, {"formid": form_id, "data": data}, write=True)
        return self._outcomes(payload, count, ())

    def _operate(self, method, form_id, numbers, ids, done):
        if not numbers and not ids:
            return []
        body = {"formid": form_id, "data": _targets(numbers, ids)}
        outcomes = self._outcomes(self._call_or_payload(method, body), len(numbers or ids or []), done)
        for outcome, key in zip(outcomes, numbers or []):
            outcome.number = outcome.number or str(key)
        return outcomes

    def _call_or_payload(self, method, body, write=False):
        """The response payload, also when Kingdee refused (the per-item errors are in it)."""
        try:
            return self._call(f"DynamicFormService.{method}", body, write=write)
        except BusinessError as error:
            if getattr(error, "payload", None) is None:
                raise
            return error.payload

    @staticmethod
    def _outcomes(payload, count, done):
        status = payload.get("Result", {}).get("ResponseStatus", {}) if isinstance(payload, dict) else {}
        outcomes = [ItemOutcome(index, False) for index in range(count)]
        for entity in status.get("SuccessEntitys") or []:
            index = entity.get("DIndex") or 0
            if 0 <= index < len(outcomes):
                outcomes[index] = ItemOutcome(index, True, entity.get("Id"), str(entity.get("Number") or ""))
        for error in status.get("Errors") or []:
            index = error.get("DIndex") or 0
            if 0 <= index < len(outcomes) and not outcomes[index].ok:
                message = error.get("Message") or ""
                outcomes[index].errors.append({"field": error.get("FieldName") or "", "message": message})
                outcomes[index].ok = any(marker in message for marker in done) and len(outcomes[index].errors) == 1
        general = (status.get("Errors") or [{}])[0].get("Message") or "Kingdee returned no result for this item"
        for outcome in outcomes:
            if not outcome.ok and not outcome.errors:
                outcome.errors.append({"field": "", "message": general})
        return outcomes

    def _call(self, service, body, write=False):
        """POST one service; a lost session is renewed and the call repeated once."""
        return self.with_auth_refresh(self._call_once, service, body, write)

    def _call_once(self, service, body, write):
        session_id = self._ensure_session()
        self._local.session_id = session_id
        url = self.base_url + SERVICE_URL.format(service)
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self.request("POST", url, data=content, headers=self._headers(url, session_id), write=write)

    def _headers(self, url, session_id):
        headers = {"Content-Type": "application/json", "Accept-Charset": "utf-8", "User-Agent": USER_AGENT}
        if self.auth_mode == "signature":
            headers.update(self.signed_headers(url))
        if session_id:
            headers["kdservice-sessionid"] = session_id
            with self._session_lock:
                aspnet = f"; ASP.NET_SessionId={self._aspnet_id}" if self._aspnet_id else ""
            headers["Cookie"] = f"kdservice-sessionid={session_id}{aspnet}"
        return headers

    def _ensure_session(self):
        with self._session_lock:
            if not self._session_id and self.auth_mode != "signature":
                self._login()  # under the lock: one login serves every waiting thread
            return self._session_id

    def _login(self):
        if self.auth_mode == "password":
            method, body = "ValidateUser", {"acctID": self.acct_id, "username": self.username,
                                            "password": self.password, "lcid": self.lcid}
        else:
            method, body = "LoginByAppSecret", {"acctID": self.acct_id, "username": self.username,
                                                "appId": self.app_id, "appSecret": self.app_secret,
                                                "lcid": self.lcid}
        url = self.base_url + SERVICE_URL.format(f"AuthService.{method}")
        result = self.request("POST", url, json=body, headers={"User-Agent": USER_AGENT})
        if result.get("LoginResultType") not in LOGIN_ACCEPTED or not result.get("KDSVCSessionId"):
            raise ConfigurationError(result.get("Message") or "登录失败", code=result.get("LoginResultType"),
                                     system=self.system)
        self._session_id = result["KDSVCSessionId"]

    def refresh_auth(self):
        """Drop the session this thread used (unless another thread already replaced it)."""
        with self._session_lock:
            if self._session_id == getattr(self._local, "session_id", ""):
                self._session_id = self._aspnet_id = ""

    def _send_once(self, method, url, write=False, **kwargs):
        try:
            return super()._send_once(method, url, **kwargs)
        except ThrottledError:
            raise  # Kingdee refused before doing anything: safe to repeat, even a write
        except TransientError as error:
            if write and not _never_sent(error):
                raise OutcomeUnknownError(f"{error.message}; the save may have reached Kingdee",
                                          code=error.code, system=self.system, http_status=error.http_status) from error
            raise

    def raise_for_response(self, response):
        if response.status_code == 429:
            raise ThrottledError("too many requests", code=429, system=self.system, http_status=429)
        if 400 <= response.status_code < 500:
            raise ConfigurationError(f"HTTP {response.status_code}: is the server URL right (it ends in /k3cloud/)?",
                                     code=response.status_code, system=self.system, http_status=response.status_code)
        if response.status_code >= 500 or not response.content.strip():
            raise TransientError(f"HTTP {response.status_code}" + ("" if response.content.strip() else ", empty body"),
                                 code=response.status_code, system=self.system, http_status=response.status_code)
        payload = super().raise_for_response(response)
        status = _response_status(payload)
        if status is not None and not status.get("IsSuccess"):
            self._raise_failure(status, payload, response.status_code)
        self._remember_session(response)
        return payload

    def _raise_failure(self, status, payload, http_status):
        errors = status.get("Errors") or []
        messages = [str(error.get("Message") or "") for error in errors if error.get("Message")]
        text = "；".join(messages) or "Kingdee refused the request"
        code = status.get("MsgCode")
        if code == 1 or any(SESSION_LOST in message for message in messages):
            raise SessionLostError(text, code=1, system=self.system, http_status=http_status)
        if code == 14:
            raise ThrottledError(text, code=14, system=self.system, http_status=http_status)
        if code in CONFIGURATION_CODES:
            raise ConfigurationError(text, code=code, system=self.system, http_status=http_status)
        error = BusinessError(text, code=code, system=self.system, http_status=http_status)
        error.errors = [{"field": e.get("FieldName") or "", "message": e.get("Message") or ""} for e in errors]
        error.payload = payload
        raise error

    def _remember_session(self, response):
        """Keep the session Kingdee opened; one we already hold is not replaced by a late answer."""
        cookies = {cookie.name: cookie.value for cookie in response.cookies}
        if cookies.get("kdservice-sessionid"):
            with self._session_lock:
                if not self._session_id:
                    self._session_id = cookies["kdservice-sessionid"]
                    self._aspnet_id = cookies.get("ASP.NET_SessionId", "")


def _caption(name, lcid):
    """Kingdee's localised names: [{"Key": 2052, "Value": "业务日期"}, …], sometimes a plain string."""
    if isinstance(name, list):
        texts = {item.get("Key"): item.get("Value") for item in name if isinstance(item, dict)}
        return str(texts.get(lcid) or next((text for text in texts.values() if text), ""))
    return str(name or "")


def _response_status(payload):
    """ResponseStatus of a result object, also of one wrapped `[[{"Result": …}]]` by ExecuteBillQuery."""
    if isinstance(payload, list) and payload and isinstance(payload[0], list) and payload[0] \
            and isinstance(payload[0][0], dict):
        payload = payload[0][0]
    if isinstance(payload, dict) and isinstance(payload.get("Result"), dict):
        return payload["Result"].get("ResponseStatus")
    return None


def _targets(numbers, ids):
    return {"CreateOrgId": 0, "Numbers": list(numbers or []), "Ids": ",".join(str(i) for i in ids or []),
            "InterationFlags": "", "IgnoreInterationFlag": "", "NetworkCtrl": "", "IsVerifyProcInst": "true"}


def _never_sent(error):
    """True when the request could not have reached the server (refused or unopened connection)."""
    cause = error.__cause__
    if isinstance(cause, requests.ConnectTimeout):
        return True
    if isinstance(cause, requests.ConnectionError) and cause.args:
        reason = getattr(cause.args[0], "reason", None)
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


def _quote(value):
    return str(value).replace("'", "''")
