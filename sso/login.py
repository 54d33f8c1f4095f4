"""The SSO business steps: which settings apply, who the DingTalk user is, and their Kingdee link.

Every failure is a `Refused` with a reason; the views turn it into the Chinese refusal
page and a LoginEvent. Nothing here logs or stores an auth code, a token or the link.
"""

import threading
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from integrations.clients import client_for
from integrations.clients.errors import RemoteError
from sso.kingdee_link import signed_login_url
from sso.models import IdentityMap, KingdeeSSOSettings, LoginEvent

Reason = LoginEvent.Reason

# DingTalk answers these for a code that is unknown, expired or already used (reference §7.1).
CODE_REJECTED_CODES = {"40078", "40079", "invalidAuthCode"}
# ... and these for someone who is not (or no longer) a member of the organisation.
NOT_MEMBER_CODES = {"60121", "external_contact"}
REAL_LOGIN_HOST = "https://login.dingtalk.com/"
SANDBOX_DINGTALK_PATH = "/sandbox/dingtalk/"


class Refused(Exception):
    def __init__(self, reason, detail="", logged=True):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.logged = logged


@dataclass
class Attempt:
    """What is known so far about one login attempt; becomes its LoginEvent."""

    flow: str
    sso: KingdeeSSOSettings | None = None
    deep_link: object = None
    form_id: str = ""
    userid: str = ""
    name: str = ""
    kingdee_username: str = ""

    def choose(self, corp_id, form_id="", pk=None, pk_id=""):
        """The enabled settings for this organisation (or the only ones), and the allowed deep link: a form,
        or with `pk_id` (a bill's internal id) that bill of an allowed form."""
        self.sso = settings_for(corp_id, pk)
        if self.sso is None:
            raise Refused(Reason.NOT_CONFIGURED, f"no enabled Kingdee SSO settings for corpId {corp_id or '-'}"[:300])
        self.form_id = (form_id or "")[:80]
        if self.form_id:
            self.deep_link = self.sso.deep_link(self.form_id)
            if self.deep_link is None or (pk_id and not (str(pk_id).isdigit() and len(str(pk_id)) <= 20)):
                raise Refused(Reason.FORM_NOT_ALLOWED)
            if pk_id:
                self.deep_link = replace(self.deep_link, form_type="bill", pk_id=str(pk_id))
        return self.sso

    def event(self, outcome, reason="", detail=""):
        return LoginEvent(
            outcome=outcome,
            reason=reason,
            flow=self.flow,
            sso_settings=self.sso,
            form_id=self.form_id,
            dingtalk_userid=self.userid[:64],
            name=self.name[:100],
            kingdee_username=self.kingdee_username[:100],
            detail=detail[:300],
        )


def settings_for(corp_id="", pk=None):
    candidates = KingdeeSSOSettings.objects.filter(
        enabled=True, kingdee__enabled=True, dingtalk__enabled=True
    ).select_related("kingdee", "dingtalk")
    if corp_id:
        candidates = candidates.filter(dingtalk__corp_id=corp_id)
    if pk is not None:
        candidates = candidates.filter(pk=pk)
    sso = candidates.order_by("pk").first()
    return sso if sso and sso.app_secret else None


_clients = {}
_clients_lock = threading.Lock()


def dingtalk(sso):
    """One client per DingTalk connection and process: logins reuse its HTTPS connections and token.

    Keyed on the connection's last change, so edited credentials take effect at once.
    """
    connection = sso.dingtalk
    key = (connection.pk, connection.updated_at)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] == connection.pk]:
                del _clients[stale]  # not closed: a login in another thread may still be using it
            client = _clients[key] = client_for(connection)
        return client


def refusal_for(exc):
    """The reason a DingTalk error means for the person trying to log in."""
    code = str(exc.code)  # the client already moved errcode 88's sub_code here
    if code in CODE_REJECTED_CODES:
        return Refused(Reason.CODE_REJECTED, str(exc))
    if code in NOT_MEMBER_CODES:
        return Refused(Reason.WRONG_ORG, str(exc))
    return Refused(Reason.DINGTALK_ERROR, str(exc))


def user_from_code(attempt, code):
    """In-client flow: the one-time code from `dd.requestAuthCode` → DingTalk userid."""
    if not code:
        raise Refused(Reason.MISSING_CODE)
    try:
        info = dingtalk(attempt.sso).get_userinfo_by_code(code)
    except RemoteError as exc:
        raise refusal_for(exc) from exc
    attempt.userid, attempt.name = info.get("userid") or "", info.get("name") or ""
    if not attempt.userid:
        raise Refused(Reason.DINGTALK_ERROR, "getuserinfo answered without a userid")


def authorize_url(sso, redirect_uri, state):
    """DingTalk's web login page; the sandbox serves it under the connection's own host."""
    params = {
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "client_id": sso.dingtalk.app_key,
        "scope": "openid corpid",
        "state": state,
        "prompt": "consent",
        "corpId": sso.dingtalk.corp_id,
    }
    return f"{login_host(sso.dingtalk)}oauth2/auth?{urlencode(params)}"


def sandbox_shim_url(sso):
    """The sandbox's stand-in for the DingTalk container's JSAPI, when this organisation is the sandbox."""
    base_url = sso.dingtalk.base_url
    if settings.PORTAL_SANDBOX and urlsplit(base_url).path.endswith(SANDBOX_DINGTALK_PATH):
        return f"{base_url}client/dd.js"
    return ""


def login_host(connection):
    if urlsplit(connection.base_url).hostname == "oapi.dingtalk.com":
        return REAL_LOGIN_HOST
    return connection.base_url


def user_from_oauth(attempt, code):
    """Browser flow: the OAuth2 code → user token → unionId → userid, checking the organisation."""
    if not code:
        raise Refused(Reason.MISSING_CODE)
    client = dingtalk(attempt.sso)
    try:
        token = client.user_access_token(code)
        corp_id = token.get("corpId")
        if corp_id and corp_id != attempt.sso.dingtalk.corp_id:
            raise Refused(Reason.WRONG_ORG, f"user token for corpId {corp_id}")
        me = client.current_user(token["accessToken"])
        attempt.name = me.get("nick") or ""
        attempt.userid = client.userid_by_unionid(me["unionId"]) or ""
    except RemoteError as exc:
        raise refusal_for(exc) from exc
    if not attempt.userid:
        raise Refused(Reason.WRONG_ORG, "no userid for this unionId")


def kingdee_link(attempt):
    """The signed Kingdee link for the attempt's DingTalk user, through the identity map."""
    identity = IdentityMap.objects.filter(dingtalk_userid=attempt.userid).first()
    if identity is None or not identity.kingdee_username:
        raise Refused(Reason.UNMAPPED, "" if identity is None else _("the mapping has no Kingdee user name"))
    attempt.name = identity.name or attempt.name
    attempt.kingdee_username = identity.kingdee_username
    if not identity.active:
        raise Refused(Reason.DISABLED)
    sso = attempt.sso
    return signed_login_url(
        sso.kingdee.base_url,
        dbid=sso.dbid,
        username=identity.kingdee_username,
        app_id=sso.app_id,
        app_secret=sso.app_secret,
        lcid=sso.lcid,
        algorithm=sso.algorithm,
        single_use=sso.single_use,
        deep_link=attempt.deep_link,
    )
