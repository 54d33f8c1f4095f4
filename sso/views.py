import secrets
from functools import wraps

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sso import login
from sso.login import Attempt, Refused
from sso.models import LoginEvent
from sso.ratelimit import requests_over_limit
from sso.refusals import record, refusal_page

Flow, Outcome, Reason = LoginEvent.Flow, LoginEvent.Outcome, LoginEvent.Reason
STATE_KEY = "sso_oauth"


def sso_view(flow):
    """Rate limit first; any refusal becomes the Chinese page with a reference number, logged."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            attempt = Attempt(flow)
            try:
                excess = requests_over_limit(request)
                if excess:
                    raise Refused(Reason.RATE_LIMITED, logged=excess == 1)  # one event per window, not per hit
                return view(request, attempt, *args, **kwargs)
            except Refused as refused:
                return refusal_page(request, attempt, refused)

        # The sandbox's DingTalk client shows the page in a frame of this same site.
        return xframe_options_sameorigin(never_cache(wrapper))

    return decorator


def to_kingdee(request, attempt):
    url = login.kingdee_link(attempt)
    record(request, attempt.event(Outcome.SUCCESS))
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@sso_view(Flow.IN_CLIENT)
def dingtalk_page(request, attempt):
    """The workbench home page: obtains a one-time code through dingtalk-jsapi and posts it back."""
    corp_id = request.GET.get("corpId", "")
    sso = attempt.choose(corp_id, request.GET.get("form"), pk_id=request.GET.get("pkid", ""))
    context = {
        "corp_id": sso.dingtalk.corp_id,
        "client_id": sso.dingtalk.app_key,
        "form_id": attempt.form_id,
        "pk_id": attempt.deep_link.pk_id if attempt.deep_link else "",
        "login_url": reverse("sso:dingtalk_login"),
        "oauth_url": f"{reverse('sso:oauth_start')}?{request.GET.urlencode()}",
        "sandbox_shim": login.sandbox_shim_url(sso),
    }
    return render(request, "sso/dingtalk.html", context)


@csrf_exempt  # the single-use code is the credential; DingTalk's webview and scripts carry no CSRF token
@require_http_methods(["GET", "POST"])
@sso_view(Flow.IN_CLIENT)
def dingtalk_login(request, attempt):
    """The one door for a code: the page, tests and scripts all exchange it here."""
    params = request.POST if request.method == "POST" else request.GET
    attempt.choose(params.get("corpId", ""), params.get("form"), pk_id=params.get("pkid", ""))
    login.user_from_code(attempt, params.get("code", ""))
    return to_kingdee(request, attempt)


@require_GET
@sso_view(Flow.OAUTH)
def oauth_start(request, attempt):
    """Outside DingTalk: send the browser to DingTalk's web login with a state bound to this session."""
    sso = attempt.choose(request.GET.get("corpId", ""), request.GET.get("form"), pk_id=request.GET.get("pkid", ""))
    state = secrets.token_urlsafe(24)
    request.session[STATE_KEY] = {"state": state, "sso": sso.pk, "form": attempt.form_id,
                                  "pkid": attempt.deep_link.pk_id if attempt.deep_link else ""}
    redirect_uri = request.build_absolute_uri(reverse("sso:oauth_callback"))
    return HttpResponseRedirect(login.authorize_url(sso, redirect_uri, state))


@require_GET
@sso_view(Flow.OAUTH)
def oauth_callback(request, attempt):
    saved = request.session.pop(STATE_KEY, None)  # single use, whatever happens next
    if not saved or not constant_time_compare(saved["state"], request.GET.get("state", "")):
        raise Refused(Reason.BAD_STATE)
    attempt.choose("", saved["form"], pk=saved["sso"], pk_id=saved.get("pkid", ""))
    login.user_from_oauth(attempt, request.GET.get("code") or request.GET.get("authCode", ""))
    return to_kingdee(request, attempt)
