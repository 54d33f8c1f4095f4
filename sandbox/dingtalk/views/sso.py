"""Login pieces (reference §7): one-time auth codes, the OAuth2 web login, and a stand-in DingTalk client.

How a page "runs inside DingTalk" in the sandbox
------------------------------------------------
The real workbench opens an H5 app inside the DingTalk container, whose JSAPI
(`dd.requestAuthCode`) hands the page a one-time code for the logged-in person.
Here, `/sandbox/dingtalk/client/` plays the container: a person picks an employee
and an app URL (`$CORPID$` is replaced as the workbench does). The page stores the
choice in the cookie `dd_sandbox_userid` (path `/`, readable by scripts) and opens
the app in a phone-sized frame, or in the whole window.

The app page loads the official `dingtalk-jsapi` bundle and then, in the sandbox
only, `/sandbox/dingtalk/client/dd.js`. That shim replaces `dd.requestAuthCode`,
`dd.runtime.permission.requestAuthCode`, `dd.ready` and `dd.env.platform` with
versions that fetch `/sandbox/dingtalk/sso/authcode?userid=…` for the person named by
the `dd_sandbox_userid` query parameter of the app page's URL (scripts, other hosts)
or else by the cookie. The code it hands over is a real sandbox code: 5 minutes,
single use, redeemed by `topapi/v2/user/getuserinfo`.
"""

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sandbox.dingtalk.models import App, AuthCode, Employee, UserToken
from sandbox.dingtalk.views.gate import OAPI, V1, Refusal, api, json_response, oapi_ok, v1_error

CODE_LIFETIME = timedelta(minutes=5)
USER_COOKIE = "dd_sandbox_userid"


def issue_code(employee, kind, client_id=""):
    code = secrets.token_hex(16)
    AuthCode.objects.create(code=code, kind=kind, employee=employee, client_id=client_id,
                            expires_at=timezone.now() + CODE_LIFETIME)
    return code


def redeem(code, kind, client_id=None):
    """The code's row, marked used, or None if it is unknown, expired or already used."""
    now = timezone.now()
    row = (AuthCode.objects.select_related("employee")
           .filter(code=code or "", kind=kind, used_at__isnull=True, expires_at__gt=now).first())
    if row is None or not row.employee.active or (client_id is not None and row.client_id != client_id):
        return None
    if AuthCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now) != 1:
        return None  # someone else redeemed it a moment ago
    return row


@require_GET
def authcode(request):
    """What `dd.requestAuthCode` obtains inside the DingTalk client, for the chosen employee."""
    userid = request.GET.get("userid") or request.COOKIES.get(USER_COOKIE, "")
    corp_id, client_id = request.GET.get("corpId", ""), request.GET.get("clientId", "")
    employee = Employee.objects.filter(userid=userid, active=True).first() if userid else None
    if employee is None:
        response = json_response({"errorCode": "3", "errorMessage": "沙箱客户端未登录或员工不存在"}, status=404)
    elif corp_id and not App.objects.filter(corp_id=corp_id).exists():
        response = json_response({"errorCode": "7", "errorMessage": "corpId不匹配"}, status=400)
    elif client_id and not App.objects.filter(app_key=client_id).exists():
        response = json_response({"errorCode": "7", "errorMessage": "clientId不存在"}, status=400)
    else:
        response = json_response({"code": issue_code(employee, AuthCode.Kind.JSAPI, client_id)})
    response["Access-Control-Allow-Origin"] = "*"
    return response


@api(OAPI)
def getuserinfo(request):
    row = redeem(request.params.get("code"), AuthCode.Kind.JSAPI)
    if row is None:
        raise Refusal(40078, "不存在的临时授权码")
    person = row.employee
    return oapi_ok(result={
        "userid": person.userid, "unionid": person.unionid, "associated_unionid": "", "name": person.name,
        "device_id": secrets.token_hex(8), "sys": person.admin, "sys_level": 1 if person.admin else 0,
    })


def _with_query(url, **extra):
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def oauth2_auth(request):
    """login.dingtalk.com/oauth2/auth: pick who logs in (or pass `userid=` from a script)."""
    p = request.POST if request.method == "POST" else request.GET
    redirect_uri, client_id = p.get("redirect_uri", ""), p.get("client_id", "")
    problem = _oauth2_problem(redirect_uri, client_id, p.get("response_type", ""))
    if problem:
        return render(request, "sandbox_dingtalk/oauth2_auth.html", {"problem": problem}, status=400)
    employee = Employee.objects.filter(userid=p.get("userid") or "", active=True).first()
    if employee is None:
        people = Employee.objects.filter(active=True).order_by("job_number")
        return render(request, "sandbox_dingtalk/oauth2_auth.html", {"people": people, "params": p,
                      "app": App.objects.get(app_key=client_id)})
    code = issue_code(employee, AuthCode.Kind.OAUTH2, client_id)
    return HttpResponseRedirect(_with_query(redirect_uri, code=code, authCode=code, state=p.get("state", "")))


def _oauth2_problem(redirect_uri, client_id, response_type):
    if not App.objects.filter(app_key=client_id).exists():
        return _("Unknown client_id: no sandbox app has this AppKey.")
    if response_type != "code":
        return _("response_type must be “code”.")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _("redirect_uri must be an http(s) URL.")
    return ""


@api(V1, auth=False)
def user_access_token(request):
    p = request.params
    app = App.objects.filter(app_key=p.get("clientId") or "", app_secret=p.get("clientSecret") or "").first()
    if app is None:
        return v1_error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
    if p.get("grantType") == "authorization_code":
        row = redeem(p.get("code"), AuthCode.Kind.OAUTH2, client_id=app.app_key)
        if row is None:
            return v1_error(400, "invalidAuthCode", "不合法的临时授权码")
        employee = row.employee
    elif p.get("grantType") == "refresh_token":
        old = UserToken.objects.filter(app=app, refresh_token=p.get("refreshToken") or "").first()
        if old is None:
            return v1_error(400, "invalidRefreshToken", "不合法的refreshToken")
        employee = old.employee
        old.delete()
    else:
        return v1_error(400, "unsupportedGrantType", "grantType不合法")
    token = UserToken.objects.create(app=app, employee=employee, access_token=secrets.token_hex(16),
                                     refresh_token=secrets.token_hex(16),
                                     expires_at=timezone.now() + timedelta(seconds=7200))
    return json_response({"accessToken": token.access_token, "refreshToken": token.refresh_token,
                          "expireIn": 7200, "corpId": app.corp_id})


@api(V1, methods=("GET",), auth=False)
def users_me(request):
    value = request.headers.get("x-acs-dingtalk-access-token", "")
    if not value:
        return v1_error(400, "AuthenticationFailed.MissingParameter", "缺少参数：x-acs-dingtalk-access-token")
    token = UserToken.objects.select_related("employee", "app").filter(access_token=value).first()
    if token is None or token.expires_at <= timezone.now() or not token.employee.active:
        return v1_error(400, "InvalidAuthentication", "不合法的access_token")
    person = token.employee
    return json_response({
        "nick": person.name, "avatarUrl": "", "mobile": person.mobile, "stateCode": "86", "email": person.email,
        "openId": _open_id(token.app, person), "unionId": person.unionid,
    })


def _open_id(app, person):
    """Per-app id: stable for one app and person, different across apps."""
    return hashlib.sha256(f"{app.app_key}:{person.userid}".encode()).hexdigest()[:24]


def client(request):
    """The sandbox's DingTalk client: pick an employee, open an app as them (see the module docstring)."""
    app = App.objects.order_by("pk").first()
    people = Employee.objects.filter(active=True).order_by("job_number")
    userid = request.POST.get("userid") or request.GET.get("userid") or request.COOKIES.get(USER_COOKIE, "")
    url = request.POST.get("url") or request.GET.get("url") or "/sso/dingtalk/?corpId=$CORPID$"
    app_url = url.replace("$CORPID$", app.corp_id if app else "")
    chosen = None if request.POST.get("logout") else people.filter(userid=userid).first()
    if chosen and request.POST.get("target") == "top":
        response = HttpResponseRedirect(app_url)
    else:
        opened = chosen is not None and (request.method == "POST" or "open" in request.GET)
        response = render(request, "sandbox_dingtalk/client.html", {
            "people": people, "noted": [person for person in people if person.demo_note], "chosen": chosen, "url": url, "app_url": app_url, "opened": opened, "app": app,
            "shim_url": request.build_absolute_uri("dd.js"),  # relative: this page lives at …/client/
        })
    if chosen:
        response.set_cookie(USER_COOKIE, chosen.userid, samesite="Lax")
    elif request.POST.get("logout"):
        response.delete_cookie(USER_COOKIE)
    return response


def dd_js(request):
    authcode_url = request.build_absolute_uri("../sso/authcode")  # relative to …/client/dd.js
    return render(request, "sandbox_dingtalk/dd.js", {"authcode_url": authcode_url},
                  content_type="application/javascript; charset=utf-8")
