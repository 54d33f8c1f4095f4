"""The third-party login landing `html5/index.aspx?ud=…` (reference §8): verify, log in, show who."""

import base64
import binascii
import hashlib
import hmac
import json

from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.utils.translation import gettext as _

from integrations import protocol
from sandbox.kingdee.auth import fresh, open_session, set_session_cookies
from sandbox.kingdee.models import DataCentre, FormRecord, KingdeeUser, SsoLanding, ThirdPartyApp
from sandbox.kingdee.wire import get

LANGUAGES = {"1033": "en", "2052": "zh-hans", "3076": "zh-hans"}
V1_FIELDS = ("dbid", "username", "appid", "signeddata", "timestamp", "lcid")


class Refusal(Exception):
    def __init__(self, reason, status=403):
        super().__init__(reason)
        self.reason, self.status = reason, status


@xframe_options_sameorigin  # the sandbox DingTalk client shows apps in a phone frame
def landing(request, page):
    attempt = SsoLanding(page=page, ip=request.META.get("REMOTE_ADDR") or None,
                         user_agent=request.headers.get("User-Agent", "")[:300])
    args = {}
    try:
        args = decode_ud(request.GET.get("ud", ""))
        _describe(attempt, args)
        with translation.override(LANGUAGES.get(str(get(args, "lcid") or "2052"), "zh-hans")):
            return _log_in(request, attempt, args)
    except Refusal as refusal:
        with translation.override(LANGUAGES.get(str(get(args, "lcid") or "2052"), "zh-hans")):
            attempt.outcome, attempt.reason = SsoLanding.Outcome.REFUSED, str(refusal.reason)[:300]
            attempt.link_key = None
            attempt.save()
            return render(request, "sandbox_kingdee/refused.html", {"reason": refusal.reason, "attempt": attempt},
                          status=refusal.status)


def decode_ud(ud):
    """The `ud` JSON (V2–V4) or pipe text (V1) as a dict; browsers may turn "+" into a space."""
    if not ud:
        raise Refusal(_("The link has no ud parameter."), 400)
    text = ud.replace(" ", "+").strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Refusal(_("The ud parameter is not valid base64 text."), 400) from exc
    if raw.startswith("|"):
        return dict(zip(V1_FIELDS, raw.split("|")[1:]))
    try:
        args = json.loads(raw)
    except ValueError as exc:
        raise Refusal(_("The ud parameter is not valid JSON."), 400) from exc
    if not isinstance(args, dict):
        raise Refusal(_("The ud parameter is not valid JSON."), 400)
    return args


def _describe(attempt, args):
    for name in ("dbid", "username", "timestamp", "formid", "formtype"):
        setattr(attempt, name, str(get(args, name) or "")[:100])
    attempt.app_id = str(get(args, "appid") or "")[:200]


def _log_in(request, attempt, args):
    centre, app, user = _verify(args)
    attempt.outcome = SsoLanding.Outcome.ACCEPTED
    attempt.link_key = _link_key(args) if _single_use(app, args) else None
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError as exc:
        raise Refusal(_("This link was already used: the app allows each link to log in only once.")) from exc
    session = open_session(user, "sso", app, get(args, "lcid") or 2052)
    context = {"user": user, "centre": centre, "app": app, "form": _opened_form(args), "attempt": attempt,
               "form_only": str(get(args, "openmode") or "").lower() == "single"}
    return set_session_cookies(render(request, "sandbox_kingdee/landing.html", context), session)


def _verify(args):
    centre = DataCentre.objects.filter(acct_id=str(get(args, "dbid") or "")).first()
    if centre is None:
        raise Refusal(_("Unknown data centre (dbid)."))
    app = ThirdPartyApp.objects.filter(app_id=str(get(args, "appid") or "")).first()
    if app is None or not app.enabled:
        raise Refusal(_("The third-party login app does not exist or is disabled."))
    if not _signature_matches(args, app):
        raise Refusal(_("The signature (signeddata) does not match."))
    if not fresh(get(args, "timestamp"), app.validity_seconds):
        raise Refusal(_("The link has expired: its timestamp is outside the allowed time."))
    user = KingdeeUser.objects.filter(username=str(get(args, "username") or "")).first()
    if user is None or not user.enabled:
        raise Refusal(_("The user does not exist or is disabled."))
    if not app.allows(user):
        raise Refusal(_("This user may not log in through this app."))
    return centre, app, user


def _permit_count(args):
    return (str(get(args, "otherargs") or "")).partition("permitcount':'")[2][:1]


def _signature_matches(args, app):
    """Official V4 text signs five parts; some clients append permitcount: accept either."""
    parts = [str(get(args, name) or "") for name in ("dbid", "username", "appid")]
    timestamp = str(get(args, "timestamp") or "")
    received = str(get(args, "signeddata") or "").lower().encode()
    extras = [(), (_permit_count(args),)] if _permit_count(args) else [()]
    return any(hmac.compare_digest(protocol.kingdee_signeddata(*parts, app.app_secret, timestamp, app.algorithm,
                                                               extra=extra).encode(), received) for extra in extras)


def _single_use(app, args):
    return app.link_mode == ThirdPartyApp.LinkMode.SINGLE_USE or _permit_count(args) == "1"


def _link_key(args):
    text = "|".join(str(get(args, name) or "") for name in ("appid", "username", "timestamp", "signeddata"))
    return hashlib.sha256(text.encode()).hexdigest()


def _opened_form(args):
    formid = str(get(args, "formid") or "")
    if not formid:
        return None
    pkid = str(get(args, "pkid") or "")
    bill = FormRecord.objects.filter(form_id__iexact=formid, fid=int(pkid)).first() if pkid.isdigit() else None
    return {"formid": formid, "formtype": str(get(args, "formtype") or "bill"), "pkid": pkid,
            "bill": bill.number if bill else ""}
