"""The SSO business steps: which settings apply, who the DingTalk user is, and their Kingdee link.

Every failure is a `Refused` with a reason; the views turn it into the Chinese refusal
page and a LoginEvent. Nothing here logs or stores an auth code, a token or the link.
"""

import functools
import threading
import time
import uuid
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection as database, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from integrations.clients import client_for
from integrations.clients.errors import RemoteError
from integrations.models import Connection
from integrations.fields import is_undecryptable
from sso.kingdee_link import signed_login_url
from sso.models import IdentityMap, KingdeeSSOSettings, LoginEvent, only_dingtalk_organisation

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
        lost = lost_secrets(self.sso)
        if lost:
            raise Refused(Reason.KEY_LOST, f"no key in FERNET_KEYS decrypts: {', '.join(lost)}"[:300])
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
    """The first enabled settings (by pk) of this organisation, or with this pk; None if none has a secret."""
    for sso in enabled_settings():
        if (not corp_id or sso.dingtalk.corp_id == corp_id) and (pk is None or sso.pk == pk):
            return sso if sso.app_secret or is_undecryptable(sso.app_secret) else None
    return None


# Every enabled SSO settings row with both its connections, read once per process: a login costs no query and
# no decryption for them. A save or delete of SSO settings or of a connection, in any process, stamps a new
# version in the shared cache (and empties this process's copy at once); each process compares the stamp at
# most once a second, and reloads after MAX_AGE whatever happens (queryset.update() sends no signal).
VERSION_KEY = "sso:settings-version"
RECHECK_SECONDS = 1.0
MAX_AGE = 60.0


@dataclass(frozen=True)
class _Loaded:
    version: str | None = None
    loaded: float = 0.0
    checked: float = 0.0
    rows: tuple | None = None


_loaded = _Loaded()


def enabled_settings():
    global _loaded
    state, now = _loaded, time.monotonic()
    if state.rows is not None and now - state.checked < RECHECK_SECONDS:
        return state.rows
    version = cache.get(VERSION_KEY)
    if state.rows is None or version != state.version or now - state.loaded > MAX_AGE:
        rows = KingdeeSSOSettings.objects.filter(enabled=True, kingdee__enabled=True, dingtalk__enabled=True)
        state = _Loaded(version, now, now, tuple(rows.select_related("kingdee", "dingtalk").order_by("pk")))
    else:
        state = _Loaded(state.version, state.loaded, now, state.rows)
    _loaded = state
    return state.rows


def forget_settings():
    """Drop this process's copy; the next login reads the settings again."""
    global _loaded
    _loaded = _Loaded()


def stamp_new_version():
    forget_settings()
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


@receiver([post_save, post_delete], sender=KingdeeSSOSettings, dispatch_uid="sso-settings-changed")
@receiver([post_save, post_delete], sender=Connection, dispatch_uid="sso-connection-changed")
def settings_changed(**kwargs):
    forget_settings()
    transaction.on_commit(stamp_new_version)  # others reload what is committed, not what may roll back


def lost_secrets(sso):
    """The secrets of these settings and their two connections that the current keys cannot decrypt."""
    lost = [f"SSO settings {name}" for name in ("app_secret",) if is_undecryptable(getattr(sso, name))]
    for connection in (sso.dingtalk, sso.kingdee):
        lost += [f"{connection.name} {name}" for name in connection.undecryptable_secrets()]
    return lost


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


def identity_of(organisation_id, userid):
    """The identity-map row of this user of this organisation: its own row, else an unassigned one if this is the
    only DingTalk organisation (`IdentityMap.objects.of`). One indexed query; asking whether the organisation is
    the only one costs a second only when nothing but an unassigned row was found."""
    rows = {row.dingtalk_id: row for row in identity_rows(userid)}  # one per organisation
    if organisation_id in rows or None not in rows:
        return rows.get(organisation_id)
    only = only_dingtalk_organisation()
    return rows[None] if only is not None and only.pk == organisation_id else None


IDENTITY_COLUMNS = ("id", "dingtalk_id", "name", "kingdee_username", "active")


@functools.cache
def identity_sql(vendor):
    quote = database.ops.quote_name
    return (f"SELECT {', '.join(quote(column) for column in IDENTITY_COLUMNS)} FROM "
            f"{quote(IdentityMap._meta.db_table)} WHERE {quote('dingtalk_userid')} = %s")


def identity_rows(userid):
    """The identity-map rows of this userid (the columns a login reads, the others deferred), by one statement
    written once per process: the ORM's query building was a tenth of a login's CPU in a profile."""
    with database.cursor() as cursor:
        cursor.execute(identity_sql(database.vendor), [userid])
        found = cursor.fetchall()
    return [IdentityMap.from_db(database.alias, IDENTITY_COLUMNS, (*row[:4], bool(row[4]))) for row in found]


def kingdee_link(attempt):
    """The signed Kingdee link for the attempt's DingTalk user, through the identity map."""
    identity = identity_of(attempt.sso.dingtalk_id, attempt.userid)
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
