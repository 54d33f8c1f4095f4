"""The inventory lookup opened from the DingTalk workbench: log in through DingTalk as SSO does, then search.

Inside DingTalk the page gets a one-time code from dingtalk-jsapi (the same script as SSO's page); in a
browser it goes through DingTalk's web login. Who the person is stays in the session; their identity-map row
is checked again on every search, so switching someone off takes effect at once.
"""

import secrets
import time

from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from integrations.clients.errors import RemoteError
from mobile import access, lookup
from sso import login
from sso.login import Refused
from sso.models import LoginEvent
from sso.refusals import record
from sso.views import sso_view

Flow, Outcome, Reason = LoginEvent.Flow, LoginEvent.Outcome, LoginEvent.Reason
SESSION_KEY = "mobile_userid"
STATE_KEY = "mobile_oauth"


def signed_in(request, attempt):
    """The checks of SSO (mapped and active), then the person is remembered for this session."""
    attempt.name = access.mapped_identity(attempt.userid).name or attempt.name
    request.session.cycle_key()
    request.session[SESSION_KEY] = attempt.userid
    record(request, attempt.event(Outcome.SUCCESS, detail="inventory lookup"))
    return HttpResponseRedirect(reverse("mobile:inventory"))


@csrf_exempt  # the single-use code is the credential, as on SSO's own door
@require_http_methods(["POST"])
@sso_view(Flow.IN_CLIENT)
def code_login(request, attempt):
    attempt.choose(request.POST.get("corpId", ""))
    login.user_from_code(attempt, request.POST.get("code", ""))
    return signed_in(request, attempt)


@require_GET
@sso_view(Flow.OAUTH)
def oauth_start(request, attempt):
    sso = attempt.choose(request.GET.get("corpId", ""))
    state = secrets.token_urlsafe(24)
    request.session[STATE_KEY] = {"state": state, "sso": sso.pk}
    return HttpResponseRedirect(login.authorize_url(sso, request.build_absolute_uri(reverse("mobile:oauth_callback")),
                                                    state))


@require_GET
@sso_view(Flow.OAUTH)
def oauth_callback(request, attempt):
    saved = request.session.pop(STATE_KEY, None)
    if not saved or not constant_time_compare(saved["state"], request.GET.get("state", "")):
        raise Refused(Reason.BAD_STATE)
    attempt.choose("", pk=saved["sso"])
    login.user_from_oauth(attempt, request.GET.get("code") or request.GET.get("authCode", ""))
    return signed_in(request, attempt)


@require_GET
@xframe_options_sameorigin  # the sandbox's DingTalk client shows it in a phone frame
@never_cache
def inventory(request):
    """A search that someone with the same scope made within the cache time is one page part from the shared
    cache: no query beyond the session's, no Kingdee call, no rendering of the results again. The answer's
    `X-Lookup-Cache` header says whether Kingdee was asked (miss) or not (hit)."""
    userid = request.session.get(SESSION_KEY)
    if not userid:
        return _login_page(request)
    reader, settings = access.reader_and_settings(userid)
    if reader.refused:
        request.session.pop(SESSION_KEY, None)
        return _login_page(request)
    if settings is None:
        return _notice(request, _("The inventory lookup is not set up"), _("Please ask IT to set it up."), 503)
    if reader.scope is None:
        return _notice(request, _("You may not see any stock yet"),
                       _("Please ask IT to add you to an inventory visibility group."), 403)
    text = lookup.clean(request.GET.get("q", ""))
    context = {"identity": reader, "text": text, "results": None, "cache_seconds": settings.cache_seconds}
    fresh = None
    if text:
        if lookup.over_limit(userid, settings.searches_per_minute):
            return _notice(request, _("Too many searches"), _("Please wait a minute and search again."), 429)
        try:
            context["results"], fresh = _results(settings, text, reader.scope, request.LANGUAGE_CODE)
        except RemoteError:
            return _notice(request, _("Kingdee did not answer"), _("Please try again in a moment."), 502)
    response = render(request, "mobile/inventory.html", context)
    if fresh is not None:
        response["X-Lookup-Cache"] = "miss" if fresh else "hit"
    return response


def _results(settings, text, scope, language):
    """(the results' HTML for this scope, whether Kingdee was asked). The HTML is kept in the shared cache for
    what is left of the search's cache time, so it is never older than the search it shows."""
    part = f"{lookup.key(settings, text)}:{scope.key}:{language}"
    html = cache.get(part)
    if html is not None:
        return mark_safe(html), False  # rendered here, escaped there
    entry, from_cache = lookup.search_entry(settings, text)
    html = render_to_string("mobile/results.html", {"results": access.visible(entry["materials"], scope),
                                                    "text": text})
    left = settings.cache_seconds - (time.time() - entry["read_at"])
    if left >= 1:
        cache.set(part, html, int(left))
    return html, not from_cache


def _login_page(request):
    sso = login.settings_for(request.GET.get("corpId", ""))
    if sso is None:
        return _notice(request, _("The inventory lookup is not set up"), _("Please ask IT to set it up."), 503)
    oauth = f"{reverse('mobile:oauth_start')}?corpId={sso.dingtalk.corp_id}"
    return render(request, "mobile/login.html", {
        "corp_id": sso.dingtalk.corp_id, "client_id": sso.dingtalk.app_key, "login_url": reverse("mobile:login"),
        "oauth_url": oauth, "sandbox_shim": login.sandbox_shim_url(sso)})


def _notice(request, title, message, status):
    return render(request, "mobile/notice.html", {"title": title, "message": message}, status=status)
