"""DingTalk Open Platform client: app token, approvals (v1.0 and legacy), contacts, login codes, notices.

Protocol facts: ../shared/reference/dingtalk-api.md. One client per DingTalk app
(Connection). `base_url` is the old "oapi" host, `api_base_url` the v1.0 host.
"""

import hashlib
import json
import os
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

from django.conf import settings
from django.core.cache import cache

from integrations.clients import limiter
from integrations.clients.base import HttpClient
from integrations.clients.dingtalk_attendance import AttendanceCalls
from integrations.clients.dingtalk_yida import YidaCalls
from integrations.clients.errors import (
    AuthError, BusinessError, ConfigurationError, QuotaExceededError, RemoteError, ThrottledError, TransientError,
)

BEIJING = ZoneInfo("Asia/Shanghai")
# DingTalk counts calls in any sliding second, as they arrive. Calls leave evenly spaced at 96% of the
# limit, so limit + 1 consecutive calls span 1/0.96 s: a call may arrive ~40 ms late (network, scheduling)
# relative to the ones after it before a window holds one call too many.
QPS_HEADROOM = 0.96
TOKEN_REFRESH_MARGIN = 300  # seconds before expiry; DingTalk advises 5-10 minutes
TOKEN_FETCH_SECONDS = 30  # the longest one process may hold the right to fetch the app token
TOKEN_HOLD_SECONDS = 30  # a client reuses the token this long before looking in the shared cache again
SETTLED = {"COMPLETED", "TERMINATED", "CANCELED"}  # an instance in these states no longer changes
READING = "reading"  # the memo key of an instance some process is reading now (the memo itself is a dict)
# Calls that do not count against the monthly quota (reference §8): tokens, login, contacts, Stream sign-up.
QUOTA_EXEMPT = ("gettoken", "v1.0/oauth2/", "topapi/v2/user/getuserinfo", "topapi/v2/department/",
                "topapi/v2/user/", "topapi/user/", "v1.0/contact/", "v1.0/gateway/")
WINDOW = timedelta(days=120)  # the approval list APIs refuse longer start-time windows
PAGE = 20
USER_PAGE = 100
LEAVE_PAGE = 50

TOKEN_CODES = {"40014", "42001", "40001", "33001", "40000"}
THROTTLE_CODES = {"90001", "90002", "90003", "90004", "90005", "90006", "90018"}
QUOTA_CODES = {"90020"}
TRANSIENT_CODES = {"-1", "15"}
CONFIG_CODES = {"40089", "40096", "43007", "60011", "60020"}
V1_AUTH = {"InvalidAuthentication"}
V1_THROTTLE = {"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "Forbidden.AccessDenied.QpsLimitForApi",
               "systemBusy", "system.busy"}
V1_QUOTA = {"Forbidden.AccessDenied.ApiCountLimitForOrg"}
V1_CONFIG = {"invalidClientIdOrSecret", "Forbidden.AccessDenied.AccessTokenPermissionDenied",
             "Forbidden.AccessDenied.IpNotInWhiteList"}

_token_locks = defaultdict(threading.Lock)
_token_locks_guard = threading.Lock()


def _lock_for(key):
    with _token_locks_guard:
        return _token_locks[key]


def _slash(url):
    return url if url.endswith("/") else url + "/"


def oapi_error_class(code):
    """The error class for an old-API errcode (or the sub_code inside errcode 88)."""
    for codes, error_class in ((TOKEN_CODES, AuthError), (THROTTLE_CODES, ThrottledError),
                               (QUOTA_CODES, QuotaExceededError), (TRANSIENT_CODES, TransientError),
                               (CONFIG_CODES, ConfigurationError)):
        if code in codes:
            return error_class
    return BusinessError


def v1_error_class(code):
    if code in V1_AUTH:
        return AuthError
    if code in V1_THROTTLE or code.startswith("Forbidden.AccessDenied.QpsLimit"):
        return ThrottledError
    if code in V1_QUOTA:
        return QuotaExceededError
    if code in V1_CONFIG:
        return ConfigurationError
    return BusinessError


class DingTalkClient(YidaCalls, AttendanceCalls, HttpClient):
    """Errors, on top of the base's network/5xx/429 handling (reference §2.4, §8, §9):

    - old API (HTTP 200 with errcode ≠ 0; errcode 88 means "read sub_code"):
      40014/42001/40001/33001/40000 → AuthError (token dropped and fetched again once);
      90018/90002/9000x → ThrottledError (retried after ≥ 1 s); 90020 → QuotaExceededError;
      -1, 15, and 88 with an empty sub_code → TransientError (retried);
      40089/40096/43007/60011/60020 → ConfigurationError; anything else → BusinessError.
    - v1.0 (HTTP 4xx with a `code`): InvalidAuthentication → AuthError; QpsLimit*/systemBusy →
      ThrottledError; ApiCountLimitForOrg → QuotaExceededError; invalidClientIdOrSecret,
      permission and IP allow-list denials → ConfigurationError; other codes → BusinessError.
    Every error carries DingTalk's own message (sub_msg, errmsg or message).
    """

    system = "dingtalk"

    def __init__(self, *, base_url, api_base_url="", app_key, app_secret, agent_id="", corp_id="",
                 legacy_approvals=False, rate_limit=None, yida_app_type="", yida_system_token="", **common):
        super().__init__(rate_limit=rate_limit * QPS_HEADROOM if rate_limit else None, **common)
        self.base_url = _slash(base_url)
        self.api_base_url = _slash(api_base_url or base_url)
        self.app_key, self.app_secret = app_key, app_secret
        self.agent_id, self.corp_id = str(agent_id or ""), corp_id
        self.legacy_approvals = legacy_approvals
        self.yida_app_type, self.yida_system_token = yida_app_type or "", yida_system_token or ""
        digest = hashlib.sha256(f"{self.base_url}|{self.api_base_url}|{app_key}".encode()).hexdigest()[:32]
        self._cache_key = f"dingtalk:token:{digest}"
        self._memo_prefix = f"dingtalk:instance:{digest}:"
        self.app_ref = app_digest(app_key)
        self._local = threading.local()
        self._held = ("", 0.0)  # (token, until when it is used without asking the shared cache)

    def limiter_key(self, url):
        # DingTalk's QPS quota is per app and per API, whichever connection or process calls it.
        return (self.system, self.app_ref, _api_path(url))

    def _send_once(self, method, url, **kwargs):
        """Count the call against the app's monthly quota once DingTalk has answered it (a refusal for
        throttling or quota, a 5xx or a timeout is not a served call)."""
        try:
            body = super()._send_once(method, url, **kwargs)
        except (ThrottledError, QuotaExceededError, TransientError):
            raise
        except RemoteError:
            self._spend_quota(url)
            raise
        self._spend_quota(url)
        return body

    def _spend_quota(self, url):
        if counts_against_quota(url):
            limiter.count(quota_key(self.app_ref))

    # --- errors -------------------------------------------------------------------------

    def raise_for_response(self, response):
        if response.status_code >= 500 or response.status_code == 429:
            body = _json_or_none(response) or {}
            error_class = ThrottledError if response.status_code == 429 else TransientError
            raise error_class(body.get("message") or f"server error HTTP {response.status_code}",
                              code=body.get("code") or response.status_code, system=self.system,
                              http_status=response.status_code)
        body = _json_or_none(response)
        if body is None:
            raise TransientError("response is not JSON", system=self.system, http_status=response.status_code)
        if isinstance(body, dict) and str(body.get("errcode", "0")).strip() not in ("0", ""):
            raise self._oapi_error(body, response.status_code)
        if isinstance(body, dict) and str(body.get("status", "")) == "1111":
            raise ThrottledError("IP address blocked for 5 minutes", code=1111, system=self.system,
                                 http_status=response.status_code)
        if response.status_code >= 400:
            body = body if isinstance(body, dict) else {}
            code = str(body.get("code") or response.status_code)
            message = body.get("message") or code
            raise v1_error_class(code)(message, code=code, system=self.system, http_status=response.status_code)
        return body

    def _oapi_error(self, body, http_status):
        errcode = str(body.get("errcode")).strip()
        sub_code = str(body.get("sub_code") or "").strip()
        message = body.get("sub_msg") or body.get("errmsg") or f"errcode {errcode}"
        if errcode == "88" and not sub_code:  # a gateway-side authentication timeout: retry
            return TransientError(message, code=88, system=self.system, http_status=http_status)
        code = sub_code if errcode == "88" else errcode
        return oapi_error_class(code)(message, code=_int_or_text(code), system=self.system, http_status=http_status)

    # --- token ----------------------------------------------------------------------------

    def get_access_token(self, force=False):
        """The app token from the shared cache. When it is missing, one process fetches it (it holds a lock
        in the shared cache) while the others wait for it to appear: one token call per app, not per worker."""
        if not force:
            token = cache.get(self._cache_key)
            if token:
                return token
        with _lock_for(self._cache_key):
            token = None if force else cache.get(self._cache_key)
            if not token:
                token = self._single_flight_token(force)
            return token

    def _single_flight_token(self, force):
        lock_key, deadline = self._cache_key + ":fetching", time.monotonic() + TOKEN_FETCH_SECONDS
        while not cache.add(lock_key, os.getpid(), timeout=TOKEN_FETCH_SECONDS):
            time.sleep(0.05)
            token = None if force else cache.get(self._cache_key)
            if token:
                return token
            if time.monotonic() > deadline:  # the holder died with the lock: its timeout frees it soon
                break
        try:
            # The holder before us may have stored the token between our last look and our taking the lock.
            token = None if force else cache.get(self._cache_key)
            if token:
                return token
            token, expires_in = self._fetch_token()
            lifetime = max(1, expires_in - min(TOKEN_REFRESH_MARGIN, expires_in / 10))
            cache.set(self._cache_key, token, timeout=lifetime)
            return token
        finally:
            cache.delete(lock_key)

    def _fetch_token(self):
        if self.legacy_approvals:
            body = self.request("GET", self.base_url + "gettoken",
                                params={"appkey": self.app_key, "appsecret": self.app_secret})
            return body["access_token"], int(body.get("expires_in") or 7200)
        body = self.request("POST", self.api_base_url + "v1.0/oauth2/accessToken",
                            json={"appKey": self.app_key, "appSecret": self.app_secret})
        return body["accessToken"], int(body.get("expireIn") or 7200)

    def refresh_auth(self):
        # Only drop the token this thread was refused with: another thread may have renewed it already.
        refused = getattr(self._local, "token", None)
        self._held = ("", 0.0)
        with _lock_for(self._cache_key):
            if refused is None or cache.get(self._cache_key) == refused:
                cache.delete(self._cache_key)

    def _token(self):
        """The app token, asked of the shared cache at most every TOKEN_HOLD_SECONDS (a cache read per call was a
        database query per detail fetch); the cache renews it TOKEN_REFRESH_MARGIN before it expires."""
        token, until = self._held
        if not token or time.monotonic() >= until:
            token = self.get_access_token()
            self._held = (token, time.monotonic() + TOKEN_HOLD_SECONDS)
        self._local.token = token
        return token

    def _oapi(self, path, body=None, method="POST", params=None):
        return self.with_auth_refresh(self._oapi_once, method, path, body, params)

    def _oapi_once(self, method, path, body, params):
        query = {**(params or {}), "access_token": self._token()}
        return self.request(method, self.base_url + path, params=query, json=body)

    def _v1(self, method, path, body=None, params=None):
        return self.with_auth_refresh(self._v1_once, method, path, body, params)

    def _v1_once(self, method, path, body, params):
        headers = {"x-acs-dingtalk-access-token": self._token()}
        return self.request(method, self.api_base_url + path, params=params, json=body, headers=headers)

    # --- connection test -------------------------------------------------------------------

    def check(self):
        """A short text naming the organisation, after fetching a fresh token (contacts are quota-free)."""
        self.get_access_token(force=True)
        root = self.get_department(1)
        return f"{root.get('name', '')} · CorpId {self.corp_id} · AgentId {self.agent_id}"

    # --- approvals ---------------------------------------------------------------------------

    def list_instance_ids(self, process_code, start, end, statuses=None):
        """Ids of instances started between `start` and `end` (aware datetimes), oldest first.

        Longer spans are split into 120-day windows. `statuses` (RUNNING, TERMINATED, COMPLETED)
        filters on the v1.0 API only: the legacy API has no such filter, so there every id comes
        back and the caller checks the status on the detail.
        """
        seen = set()
        for window_start, window_end in _windows(start, end):
            if self.legacy_approvals:
                pages = self._legacy_ids(process_code, window_start, window_end)
            else:
                pages = self._v1_ids(process_code, window_start, window_end, statuses)
            for instance_id in pages:
                if instance_id not in seen:
                    seen.add(instance_id)
                    yield instance_id

    def _v1_ids(self, process_code, start_ms, end_ms, statuses):
        next_token = 0
        while True:
            body = {"processCode": process_code, "startTime": start_ms, "endTime": end_ms,
                    "nextToken": next_token, "maxResults": PAGE}
            if statuses:
                body["statuses"] = list(statuses)
            result = self._v1("POST", "v1.0/workflow/processes/instanceIds/query", body).get("result") or {}
            yield from result.get("list") or []
            if not result.get("nextToken"):
                return
            next_token = int(result["nextToken"])

    def _legacy_ids(self, process_code, start_ms, end_ms):
        cursor = 0
        while True:
            body = {"process_code": process_code, "start_time": start_ms, "end_time": end_ms,
                    "size": PAGE, "cursor": cursor}
            result = self._oapi("topapi/processinstance/listids", body).get("result") or {}
            yield from result.get("list") or []
            if result.get("next_cursor") in (None, ""):
                return
            cursor = int(result["next_cursor"])

    def get_instance(self, instance_id):
        """One approval as `normalize_instance` describes it.

        A finished instance (it no longer changes) is kept in the shared cache for DETAIL_MEMO_SECONDS, and
        concurrent reads of one instance from any process wait for the first: an event's sync and a polling
        run, or two deliveries of one event, spend one detail call from the monthly quota, not two."""
        memo_seconds = settings.DINGTALK_DETAIL_MEMO_SECONDS
        if not memo_seconds:
            return self._read_instance(instance_id)
        # One key holds both the memo and, while an instance is being read, a marker that it is: a detail read
        # costs two cache operations (take the key, then keep the instance or free the key), not four.
        memo_key = self._memo_prefix + hashlib.sha256(str(instance_id).encode()).hexdigest()[:32]
        hold, deadline = 2 * self.timeout[1], time.monotonic() + 2 * self.timeout[1]
        while not cache.add(memo_key, READING, timeout=hold):
            instance = cache.get(memo_key)
            if isinstance(instance, dict):
                return instance
            if time.monotonic() > deadline:
                return self._read_instance(instance_id)  # the first reader hangs: read it ourselves
            if instance is not None:  # being read: wait for it (a freed key is taken on the next turn)
                time.sleep(0.05)
        try:
            instance = self._read_instance(instance_id)
        except BaseException:
            cache.delete(memo_key)
            raise
        if instance.get("status", "").upper() in SETTLED:
            cache.set(memo_key, instance, timeout=memo_seconds)
        else:
            cache.delete(memo_key)  # a running instance is not kept: the next read asks DingTalk again
        return instance

    def _read_instance(self, instance_id):
        if self.legacy_approvals:
            raw = self._oapi("topapi/processinstance/get", {"process_instance_id": instance_id})
            raw = raw.get("process_instance") or {}
        else:
            raw = self._v1("GET", "v1.0/workflow/processInstances", params={"processInstanceId": instance_id})
            raw = raw.get("result") or {}
        try:
            return normalize_instance(raw, self.legacy_approvals, instance_id)
        except ValueError as error:
            raise BusinessError(f"malformed approval data: {error}", system=self.system) from error

    def form_fields(self, process_code):
        """[(path, label, component type)] of the approval template (v1.0 form schema, round 2 §9): detail
        table columns as `表[].列`, suites expanded, notes (no value) left out. Paths match `normalize_instance`."""
        body = self._v1("GET", "v1.0/workflow/forms/schemas/processCodes", params={"processCode": process_code})
        schema = (body.get("result") or {}).get("schemaContent") or {}
        return list(_schema_fields(schema.get("items") or []))

    def download_attachment(self, instance_id, file_id, max_bytes):
        """The bytes of a file on an approval: a download link (`POST /v1.0/workflow/processInstances/spaces/
        files/urls/download`, result.downloadUri), then the file itself. Bigger than `max_bytes` → BusinessError."""
        body = self._v1("POST", "v1.0/workflow/processInstances/spaces/files/urls/download",
                        {"processInstanceId": instance_id, "fileId": file_id})
        uri = (body.get("result") or {}).get("downloadUri") or ""
        if not uri:
            raise BusinessError(f"no download link for file {file_id}", system=self.system)
        try:
            with self.session.get(uri, timeout=self.timeout, stream=True) as response:
                if response.status_code != 200:
                    raise TransientError(f"file download HTTP {response.status_code}", system=self.system,
                                         http_status=response.status_code)
                content = bytearray()
                for block in response.iter_content(64 * 1024):
                    content += block
                    if len(content) > max_bytes:
                        raise BusinessError(f"file {file_id} is larger than {max_bytes} bytes", code="too_large",
                                            system=self.system)
        except requests.RequestException as error:
            raise TransientError(f"file download failed: {error.__class__.__name__}", system=self.system) from error
        return bytes(content)

    def add_comment(self, instance_id, text, comment_userid):
        """Not retried blindly by the caller: a comment posted twice shows twice."""
        body = {"processInstanceId": instance_id, "text": text, "commentUserId": comment_userid}
        return bool(self._v1("POST", "v1.0/workflow/processInstances/comments", body).get("result"))

    # --- work notifications ----------------------------------------------------------------

    def send_work_notice(self, userids, title, markdown):
        """The task id. A retried send is harmless: DingTalk drops identical content to a person within a day."""
        return self.send_notice(userids, {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}})

    def send_notice(self, userids, msg):
        """A work notice of any type (`msg` as asyncsend_v2 takes it) to 1–100 userids; the task id."""
        userids = list(userids)
        if not 1 <= len(userids) <= 100:
            raise ValueError("a work notice goes to 1 to 100 userids per call")
        body = {"agent_id": int(self.agent_id), "userid_list": ",".join(userids), "msg": msg}
        return self._oapi("topapi/message/corpconversation/asyncsend_v2", body)["task_id"]

    def get_send_result(self, task_id):
        body = {"agent_id": int(self.agent_id), "task_id": int(task_id)}
        return self._oapi("topapi/message/corpconversation/getsendresult", body).get("send_result") or {}

    # --- login -----------------------------------------------------------------------------

    def get_userinfo_by_code(self, code):
        """In-client login-free code → {userid, unionid, name, sys, sys_level, …}.

        A used, expired or unknown code is a BusinessError with code 40078."""
        return self._oapi("topapi/v2/user/getuserinfo", {"code": code})["result"]

    def user_access_token(self, code):
        """OAuth2 code → {accessToken, refreshToken, expireIn, corpId} (DingTalk's own keys)."""
        body = {"clientId": self.app_key, "clientSecret": self.app_secret, "code": code,
                "grantType": "authorization_code"}
        return self.request("POST", self.api_base_url + "v1.0/oauth2/userAccessToken", json=body)

    def current_user(self, user_access_token):
        """{nick, unionId, openId, mobile, email, …} of the person a user token belongs to."""
        return self.request("GET", self.api_base_url + "v1.0/contact/users/me",
                            headers={"x-acs-dingtalk-access-token": user_access_token})

    def userid_by_unionid(self, unionid):
        result = self._oapi("topapi/user/getbyunionid", {"unionid": unionid})["result"]
        if int(result.get("contact_type") or 0) == 1:
            raise BusinessError("this unionid belongs to an external contact, not a member of the organisation",
                                code="external_contact", system=self.system)
        return result["userid"]

    # --- contacts --------------------------------------------------------------------------

    def get_department(self, dept_id):
        return self._oapi("topapi/v2/department/get", {"dept_id": dept_id})["result"]

    def list_departments(self):
        """Every department below the root (1), breadth first, as listsub returns them."""
        departments, queue = [], [1]
        while queue:
            children = self._oapi("topapi/v2/department/listsub", {"dept_id": queue.pop(0)})["result"] or []
            departments.extend(children)
            queue.extend(child["dept_id"] for child in children)
        return departments

    def list_department_users(self, dept_id):
        """Direct members of one department (not of its sub-departments), in pages of 100."""
        cursor = 0
        while True:
            body = {"dept_id": dept_id, "cursor": cursor, "size": USER_PAGE}
            result = self._oapi("topapi/v2/user/list", body)["result"]
            yield from result.get("list") or []
            if str(result.get("has_more")).lower() != "true":
                return
            cursor = int(result["next_cursor"])

    def list_users(self):
        """Everyone in the organisation once, though a person may sit in several departments."""
        users = {}
        for dept_id in [1, *(d["dept_id"] for d in self.list_departments())]:
            for user in self.list_department_users(dept_id):
                users.setdefault(user["userid"], user)
        return list(users.values())

    def get_user(self, userid):
        return self._oapi("topapi/v2/user/get", {"userid": userid})["result"]

    def list_leavers(self, start, end=None):
        """People who left in [start, end): v1.0 ListEmpLeaveRecords, pages of 50 (`userId`, `name`,
        `leaveTime`). The only way to learn of a leaver after the fact: they vanish from every other API."""
        params = {"startTime": _iso(start), "maxResults": LEAVE_PAGE}
        if end is not None:
            params["endTime"] = _iso(end)
        while True:
            body = self._v1("GET", "v1.0/contact/empLeaveRecords", params=params)
            yield from body.get("records") or []
            if not body.get("nextToken"):
                return
            params["nextToken"] = body["nextToken"]

    def list_subdepartments(self, dept_id):
        """The direct children of one department (listsub: one call, quota-free)."""
        return self._oapi("topapi/v2/department/listsub", {"dept_id": dept_id})["result"] or []

    def walk_departments(self, roots=(1,), recursive=True):
        """The departments of a scope, parents before children: the roots themselves (from department/get),
        then, with `recursive`, every department below them, one listsub call per department."""
        found, queue = {}, []
        for root in roots:
            dept = self.get_department(root)
            found[int(dept["dept_id"])] = dept
            queue.append(int(dept["dept_id"]))
        while recursive and queue:
            for child in self.list_subdepartments(queue.pop(0)):
                if int(child["dept_id"]) not in found:
                    found[int(child["dept_id"])] = child
                    queue.append(int(child["dept_id"]))
        return list(found.values())


def app_digest(app_key):
    """A DingTalk app's identity in shared keys (its rate budget and monthly quota), without the AppKey."""
    return hashlib.sha256(f"dingtalk-app|{app_key}".encode()).hexdigest()[:24]


def quota_month(moment=None):
    """DingTalk's quota months run in Beijing time."""
    return (moment or datetime.now(BEIJING)).astimezone(BEIJING).strftime("%Y-%m")


def quota_key(app_id, month=None):
    return f"quota:dingtalk:{app_id}:{month or quota_month()}"


def counts_against_quota(url):
    path = _api_path(url)
    return not any(path.startswith(prefix) for prefix in QUOTA_EXEMPT)


def _api_path(url):
    """The API's own path ("v1.0/workflow/processInstances", "topapi/processinstance/get"), whatever prefix
    the host puts in front of it (the sandbox serves DingTalk under /sandbox/dingtalk/)."""
    path = urlsplit(url).path
    for marker in ("/v1.0/", "/topapi/", "/gettoken", "/robot/"):
        at = path.find(marker)
        if at >= 0:
            return path[at + 1:]
    return path.lstrip("/")


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _int_or_text(code):
    try:
        return int(code)
    except (TypeError, ValueError):
        return code


def _iso(moment):
    """Beijing wall time without a zone, as the v1.0 contact APIs take it (`2020-07-10T00:00:00`)."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M:%S")


def _millis(moment):
    return int(moment.timestamp() * 1000)


def _windows(start, end):
    """(start_ms, end_ms) pairs, each at most 120 days, covering start..end inclusive."""
    start_ms, end_ms, span = _millis(start), _millis(end), int(WINDOW.total_seconds() * 1000)
    while start_ms <= end_ms:
        window_end = min(end_ms, start_ms + span)
        yield start_ms, window_end
        start_ms = window_end + 1


# --- the normalized approval instance ---------------------------------------------------

_TEXT_FIELDS = [
    ("title", "title", "title"), ("status", "status", "status"), ("result", "result", "result"),
    ("business_id", "business_id", "businessId"), ("biz_action", "biz_action", "bizAction"),
    ("originator_userid", "originator_userid", "originatorUserId"),
    ("originator_dept_id", "originator_dept_id", "originatorDeptId"),
    ("originator_dept_name", "originator_dept_name", "originatorDeptName"),
    ("main_process_instance_id", "main_process_instance_id", "mainProcessInstanceId"),
]
_LIST_FIELDS = [
    ("approver_userids", "approver_userids", "approverUserIds"), ("cc_userids", "cc_userids", "ccUserIds"),
    ("attached_process_instance_ids", "attached_process_instance_ids", "attachedProcessInstanceIds"),
]
LIST_COMPONENTS = {"DDMultiSelectField", "DDDateRangeField", "DDAttachment", "DDPhotoField", "RelateField"}


def normalize_instance(raw, legacy, instance_id=""):
    """One approval instance in one JSON-serialisable shape, whichever API generation it came from.

    Instance fields are snake_case strings (`result` "" while running or when withdrawn);
    `create_time`/`finish_time` and the times in `operation_records`/`tasks` are ISO 8601 with
    +08:00 at minute precision (the v1.0 API's resolution), "" when absent. `form` maps each
    component's label to its value: text as is ("null" → ""); a TableField to a list of rows,
    each {column label (or key): text}; multi-selects, date ranges, attachments, photos and
    related instances to parsed lists. A date range's label ["开始时间","结束时间"] becomes
    "开始时间~结束时间". `form_ext` maps labels to their parsed ext_value, when there is one.
    Raises ValueError on a detail table that is not JSON.
    """
    if "process_instance" in raw or ("result" in raw and isinstance(raw.get("result"), dict)):
        raw = raw.get("process_instance") or raw["result"]

    def pick(old, new):
        return raw.get(old if legacy else new)

    instance = {"process_instance_id": str(instance_id or raw.get("processInstanceId") or "")}
    for name, old, new in _TEXT_FIELDS:
        instance[name] = _text(pick(old, new))
    for name, old, new in _LIST_FIELDS:
        instance[name] = [str(item) for item in pick(old, new) or []]
    instance["create_time"] = _time(pick("create_time", "createTime"))
    instance["finish_time"] = _time(pick("finish_time", "finishTime"))
    instance["operation_records"] = [_record(r) for r in pick("operation_records", "operationRecords") or []]
    instance["tasks"] = [_task(t) for t in pick("tasks", "tasks") or []]
    instance["form"], instance["form_ext"] = _form(pick("form_component_values", "formComponentValues") or [])
    return instance


def _text(value):
    return "" if value is None or value == "null" else str(value)


def _time(value):
    """Old API: Beijing "yyyy-MM-dd HH:mm:ss"; v1.0: ISO UTC "…T11:52Z"; events: epoch ms."""
    if value in (None, "", "null"):
        return ""
    if isinstance(value, (int, float)) or str(value).isdigit():
        moment = datetime.fromtimestamp(int(value) / 1000, BEIJING)
    else:
        moment = datetime.fromisoformat(str(value).strip().replace(" ", "T"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(BEIJING).replace(second=0, microsecond=0).isoformat()


def _either(item, *names):
    for name in names:
        if item.get(name) is not None:
            return item[name]
    return None


def _record(record):
    return {
        "userid": _text(_either(record, "userid", "userId")), "date": _time(record.get("date")),
        "type": _text(_either(record, "operation_type", "type")),
        "result": _text(_either(record, "operation_result", "result")), "remark": _text(record.get("remark")),
        "attachments": [_attachment(a) for a in record.get("attachments") or []],
    }


def _attachment(item):
    return {"file_name": _text(_either(item, "file_name", "fileName")),
            "file_size": _text(_either(item, "file_size", "fileSize")),
            "file_id": _text(_either(item, "file_id", "fileId")),
            "file_type": _text(_either(item, "file_type", "fileType"))}


def _task(task):
    return {
        "task_id": _text(_either(task, "taskid", "taskId")), "userid": _text(_either(task, "userid", "userId")),
        "status": _text(_either(task, "task_status", "status")),
        "result": _text(_either(task, "task_result", "result")),
        "activity_id": _text(_either(task, "activity_id", "activityId")),
        "create_time": _time(_either(task, "create_time", "createTime")),
        "finish_time": _time(_either(task, "finish_time", "finishTime")),
    }


def _form(components):
    form, ext = {}, {}
    for item in components:
        label = _label(item.get("name"))
        if not label:  # a TextNote carries no value
            continue
        kind = _either(item, "component_type", "componentType") or ""
        form[label] = _value(kind, item.get("value"))
        ext_value = _either(item, "ext_value", "extValue")
        if ext_value not in (None, "", "null"):
            ext[label] = _parsed(ext_value)
    return form, ext


def _schema_fields(items, table=""):
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("componentName") or "")
        props = item.get("props") if isinstance(item.get("props"), dict) else {}
        label = _label(json.dumps(props["label"], ensure_ascii=False) if isinstance(props.get("label"), list)
                       else props.get("label"))
        if kind == "TableField" and not table:
            yield from _schema_fields(item.get("children"), label)
        elif kind == "DDBizSuite":
            yield from _schema_fields(item.get("children"), table)
        elif kind != "TextNote" and label:
            yield (f"{table}[].{label}" if table else label, label, kind)


def _label(name):
    if isinstance(name, str) and name.startswith("["):
        parsed = _parsed(name)
        if isinstance(parsed, list):
            return "~".join(str(part) for part in parsed)
    return _text(name)


def _parsed(text):
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _value(kind, value):
    text = _text(value)
    if kind == "TableField":
        return _table(text)
    if kind in LIST_COMPONENTS:
        if not text:
            return []
        parsed = _parsed(text)
        items = parsed if isinstance(parsed, list) else [text]
        return [item if isinstance(item, dict) else _text(item) for item in items]
    return text


def _table(text):
    """Rows of a detail table; the schema an empty table comes back as has no rowValue: no rows."""
    if not text:
        return []
    try:
        rows = json.loads(text)
    except ValueError as error:
        raise ValueError(f"detail table is not JSON: {text[:80]}") from error
    table = []
    for row in rows if isinstance(rows, list) else []:
        cells = row.get("rowValue") if isinstance(row, dict) else row if isinstance(row, list) else None
        if cells is None:
            continue
        table.append({_text(cell.get("label") or cell.get("key") or cell.get("name")): _row_cell(cell)
                      for cell in cells if isinstance(cell, dict)})
    return table


def _row_cell(cell):
    """A detail row's cell: a table nested in the row becomes its rows, attached files a list; the rest text."""
    kind, value = cell.get("componentType") or "", cell.get("value")
    if kind in ("TableField", "DDAttachment"):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) if value else ""
        return _value(kind, text)
    return _cell(value)


def _cell(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return _text(value)
