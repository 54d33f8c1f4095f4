"""AuthService logins, sessions and the SDK's stateless header signature (reference §3, §4.7)."""

import base64
import hmac
import secrets
import string
import time
import uuid
from datetime import timedelta

from django.utils import timezone

from integrations import protocol
from sandbox.kingdee.models import SESSION_MINUTES, DataCentre, KingdeeSession, KingdeeUser, ThirdPartyApp
from sandbox.kingdee.wire import ASPNET_COOKIE, SESSION_COOKIE, json_response


# Parameter names of the login services, in positional order (reference §2.2).
LOGIN_PARAMS = {
    "validateuser": ["acctid", "username", "password", "lcid"],
    "validateuser2": ["acctid", "username", "password", "iskickoff", "lcid"],
    "validateuserbyorgnumber": ["acctid", "username", "password", "lcid", "orgnumber"],
    "loginbyappsecret": ["acctid", "username", "appid", "appsecret", "lcid"],
    "loginbysign": ["acctid", "username", "appid", "timestamp", "sign", "lcid"],
    "logout": [],
}
TOUCH_EVERY = timedelta(seconds=5)


class SessionLost(Exception):
    """Kingdee answers every authentication failure of a business call as a lost session."""


def presented_session_id(request):
    return (request.COOKIES.get(SESSION_COOKIE) or request.headers.get(SESSION_COOKIE)
            or request.headers.get("SID") or "")


def live_session(session_id):
    session = KingdeeSession.objects.select_related("user").filter(session_id=session_id).first() if session_id \
        else None
    if session is None:
        return None
    if session.expired or not session.user.enabled:
        session.delete()
        return None
    if timezone.now() - session.last_seen > TOUCH_EVERY:  # sliding expiry, without a write per call
        KingdeeSession.objects.filter(pk=session.pk).update(last_seen=timezone.now())
    return session


def open_session(user, via, app=None, lcid=2052, org_number=""):
    # Sessions nobody resumes would pile up: each new one sweeps out the expired.
    KingdeeSession.objects.filter(last_seen__lt=timezone.now() - timedelta(minutes=SESSION_MINUTES)).delete()
    aspnet = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(24))
    return KingdeeSession.objects.create(session_id=str(uuid.uuid4()), aspnet_id=aspnet, user=user, app=app, via=via,
                                         lcid=_int(lcid, 2052), org_number=str(org_number or ""))


def set_session_cookies(response, session):
    # No expiry attributes: the SDK splits Set-Cookie on commas, and an Expires date has one.
    response.set_cookie(SESSION_COOKIE, session.session_id, path="/")
    response.set_cookie(ASPNET_COOKIE, session.aspnet_id, path="/")
    return response


def resolve_session(request):
    """The session of a business call: signed SDK headers open or refresh one, otherwise it must exist."""
    presented = presented_session_id(request)
    if request.headers.get("X-Kd-Appkey") is None:
        session = live_session(presented)
        if session is None:
            raise SessionLost("no valid session")
        return session
    app, user, lcid, org = verify_signature(request)
    session = live_session(presented)
    if session is None or session.user_id != user.pk:
        session = open_session(user, "sdk-signature", app, lcid, org)
    return session


def verify_signature(request):
    """Reference §4.7; every failure is a SessionLost whose text is what Kingdee would log."""
    headers = request.headers
    app = ThirdPartyApp.objects.filter(app_id=headers.get("X-Kd-Appkey"), enabled=True).first()
    if app is None:
        raise SessionLost("Fail to VerifyThirtyPassport:The passport is not exists or disabled")
    try:
        plain = base64.b64decode(headers.get("X-Kd-Appdata", "")).decode("utf-8")
        acct, username, lcid, org = protocol.parse_kingdee_appdata(headers.get("X-Kd-Appdata", ""))
    except ValueError as exc:
        raise SessionLost("Fail to VerifyThirtyPassport:X-Kd-Appdata is invalid") from exc
    expected = protocol.kingdee_kd_signature(app.app_id, plain, app.app_secret)
    if not hmac.compare_digest(expected.encode(), headers.get("X-Kd-Signature", "").encode()):
        raise SessionLost("Fail to VerifyThirtyPassport:Fail to verify X-KD-Signature（from passport）")
    if app.verify_gateway_signature:
        _verify_gateway(request, app)
    if not DataCentre.objects.filter(acct_id=acct).exists():
        raise SessionLost(f"Fail to RestoreSessionByApi:数据中心{acct}不存在")
    user = KingdeeUser.objects.filter(username=username, enabled=True).first()
    if user is None or not app.allows(user):
        raise SessionLost(f"Fail to RestoreSessionByApi:用户：{username}不存在或未授权")
    return app, user, lcid, org


def _verify_gateway(request, app):
    headers = request.headers
    parts = app.app_id.split("_")
    client_id = parts[0] if len(parts) == 2 else ""
    if headers.get("X-Api-ClientID", "") != client_id:
        raise SessionLost("X-Api-ClientID does not match the app")
    timestamp = headers.get("x-api-timestamp", "")
    if not fresh(timestamp, app.validity_seconds):
        raise SessionLost("Fail to RestoreSessionByApi:时间戳验证失败，请求链接已失效，请重试！")
    path = request.get_full_path()
    expected = protocol.kingdee_api_signature(path, headers.get("x-api-nonce", ""), timestamp, app.app_id)
    if not hmac.compare_digest(expected.encode(), headers.get("X-Api-Signature", "").encode()):
        raise SessionLost("X-Api-Signature verification failed")


def fresh(timestamp, window):
    """Seconds or milliseconds since the epoch, within `window` seconds of now; a window of 0 refuses all."""
    value = _int(timestamp, None)
    if value is None or window <= 0:
        return False
    seconds = value / 1000 if value > 10**11 else value
    return abs(time.time() - seconds) <= window


def _int(value, default):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


# --- the login services ----------------------------------------------------------------


def login(call):
    """AuthService.* : answers the login result of §3.2 and sets the session cookies on success."""
    if call.method == "logout":
        return _logout(call)
    params = call.params
    centre = DataCentre.objects.filter(acct_id=str(params.get("acctid") or "")).first()
    if centre is None:
        return _refused(f"数据中心“{params.get('acctid') or ''}”不存在，请检查账套ID！")
    user = KingdeeUser.objects.filter(username=str(params.get("username") or "")).first()
    problem, app = _check_credentials(call.method, params, user)
    if problem:
        return _refused(problem, result_type=0 if call.method.startswith("validateuser") else -1)
    if not user.enabled:
        return _refused(f"用户“{user.username}”已被禁用，请联系系统管理员！")
    session = open_session(user, call.method, app, params.get("lcid") or 2052, params.get("orgnumber") or "")
    response = json_response(_login_result(session, centre))
    return set_session_cookies(response, session), "ok"


def _check_credentials(method, params, user):
    """(problem or None, app) for the three ways of logging in."""
    if method.startswith("validateuser"):
        ok = user is not None and user.check_password(str(params.get("password") or ""))
        return (None if ok else "用户名或密码错误！"), None
    app = ThirdPartyApp.objects.filter(app_id=str(params.get("appid") or ""), enabled=True).first()
    if app is None:
        return "第三方系统登录授权不存在或已禁用，请检查应用ID！", None
    if method == "loginbyappsecret":
        if not hmac.compare_digest(str(params.get("appsecret") or "").encode(), app.app_secret.encode()):
            return "应用ID或应用密钥错误，请检查第三方系统登录授权！", app
    else:
        problem = _check_sign(params, app)
        if problem:
            return problem, app
    if user is None or not app.allows(user):
        return f"用户：{params.get('username') or ''}不存在或未获授权使用该应用！", app
    return None, app


def _check_sign(params, app):
    timestamp = str(params.get("timestamp") or "")
    expected = protocol.kingdee_signeddata(str(params.get("acctid")), str(params.get("username")), app.app_id,
                                           app.app_secret, timestamp, app.algorithm)
    if not hmac.compare_digest(expected.encode(), str(params.get("sign") or "").lower().encode()):
        return "签名验证失败，请检查应用ID、应用密钥与签名算法！"
    if not fresh(timestamp, app.validity_seconds):
        return "时间戳验证失败，请求链接已失效，请重试！"
    return None


def _logout(call):
    session = live_session(presented_session_id(call.request))
    if session is None:
        return json_response(False), "ok"
    session.delete()
    return json_response(True), "ok"


def _refused(message, result_type=-1):
    return json_response({
        "Message": message, "MessageCode": None, "LoginResultType": result_type, "Context": None,
        "KDSVCSessionId": None, "FormId": None, "RedirectFormParam": None, "FormInputObject": None,
        "ErrorStackTrace": None, "Lcid": 0, "AccessToken": None, "KdAccessResult": None, "IsSuccessByAPI": False,
    }), "login_refused"


def _login_result(session, centre):
    user = session.user
    context = {
        "UserLocale": "zh-CN" if session.lcid == 2052 else "en-US", "LogLocale": "zh-CN", "DBid": centre.acct_id,
        "DatabaseType": 3, "SessionId": session.aspnet_id, "UserId": user.user_id, "UserName": user.username,
        "CustomName": centre.name, "DisplayVersion": centre.display_version, "DataCenterName": centre.name,
        "UserToken": str(uuid.uuid5(uuid.NAMESPACE_URL, session.session_id)), "UseLanguages": [
            {"LocaleId": 2052, "LocaleName": "中文(简体)", "Alias": "CN"}],
        "CurrentOrganizationInfo": {"ID": 1, "AcctOrgType": "1", "Name": centre.name, "FunctionIds": [101, 102, 103]},
        "IsCH_ZH_AutoTrans": False, "ClientType": 32, "WeiboAuthInfo": None, "UTimeZone": None,
    }
    return {
        "Message": None, "MessageCode": "CheckPasswordPolicy", "LoginResultType": 1, "Context": context,
        "KDSVCSessionId": session.session_id, "FormId": None, "RedirectFormParam": None, "FormInputObject": None,
        "ErrorStackTrace": None, "Lcid": 0, "AccessToken": None, "KdAccessResult": None, "IsSuccessByAPI": True,
    }


def data_centres(call):
    """AccountService.GetDataCenterList."""
    rows = [{"Id": c.acct_id, "Number": c.acct_id, "Name": c.name, "DatabaseType": 3, "IsDefault": False}
            for c in DataCentre.objects.all()]
    return json_response(rows), "ok"
