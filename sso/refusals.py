"""The page a person sees when SSO says no: plain words, a reference number, nothing internal."""

import functools

from django.db import connection
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from sso.models import LoginEvent
from sso.ratelimit import client_ip

Reason = LoginEvent.Reason

MESSAGES = {
    Reason.NOT_CONFIGURED: (
        _("Kingdee login is not set up"),
        _("Single sign-on to Kingdee has not been set up for your organisation yet. Please contact IT."),
    ),
    Reason.MISSING_CODE: (
        _("Sign-in did not complete"),
        _("DingTalk did not pass on your authorization. Open the Kingdee app from the DingTalk workbench again."),
    ),
    Reason.CODE_REJECTED: (
        _("This sign-in has expired"),
        _("The authorization from DingTalk has expired or was already used. "
          "Open the Kingdee app from the DingTalk workbench again."),
    ),
    Reason.DINGTALK_ERROR: (
        _("DingTalk could not confirm who you are"),
        _("DingTalk did not answer as expected. Please try again in a moment; if it keeps happening, contact IT."),
    ),
    Reason.WRONG_ORG: (
        _("Your account is not in this organisation"),
        _("Only members of the organisation that set up this Kingdee login can use it."),
    ),
    Reason.BAD_STATE: (
        _("Sign-in request not recognised"),
        _("This sign-in request did not start here or was already used. Please start again."),
    ),
    Reason.UNMAPPED: (
        _("No Kingdee account is linked to you"),
        _("Your DingTalk account is not linked to a Kingdee user yet. Please ask IT to add you to the identity map."),
    ),
    Reason.DISABLED: (
        _("Your Kingdee login is switched off"),
        _("The link between your DingTalk account and Kingdee has been disabled. Please contact IT."),
    ),
    Reason.FORM_NOT_ALLOWED: (
        _("This Kingdee page cannot be opened from here"),
        _("The link asks for a Kingdee page that single sign-on may not open."),
    ),
    Reason.KEY_LOST: (
        _("Kingdee login is unavailable right now"),
        _("The portal cannot read its own login settings. Please contact IT."),
    ),
    Reason.RATE_LIMITED: (
        _("Too many attempts"),
        _("There were too many sign-in attempts from your network. Please wait a minute and try again."),
    ),
}
STATUS = {Reason.RATE_LIMITED: 429, Reason.DINGTALK_ERROR: 502, Reason.NOT_CONFIGURED: 503, Reason.KEY_LOST: 503}
RETRYABLE = {Reason.MISSING_CODE, Reason.CODE_REJECTED, Reason.DINGTALK_ERROR, Reason.BAD_STATE, Reason.RATE_LIMITED}


def record(request, event):
    event.ip = client_ip(request)
    event.user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    insert(event)
    return event


@functools.cache
def insert_sql(vendor):
    quote = connection.ops.quote_name
    columns = [field.column for field in event_fields()]
    return (f"INSERT INTO {quote(LoginEvent._meta.db_table)} ({', '.join(quote(column) for column in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})")


@functools.cache
def event_fields():
    return [field for field in LoginEvent._meta.concrete_fields if not field.primary_key]


def insert(event):
    """One INSERT, written once per process, for every login (`Model.save` built the statement anew each time:
    a tenth of a login's CPU). The fields prepare their values as save does (the time stamped, the reference
    drawn); no receiver listens to a LoginEvent being saved. The event's own id is not read back: nothing needs it."""
    values = [field.get_db_prep_save(field.pre_save(event, True), connection) for field in event_fields()]
    with connection.cursor() as cursor:
        cursor.execute(insert_sql(connection.vendor), values)


def refusal_page(request, attempt, refused):
    event = attempt.event(LoginEvent.Outcome.REFUSED, refused.reason, refused.detail)
    if refused.logged:
        record(request, event)
    title, message = MESSAGES[refused.reason]
    context = {"title": title, "message": message, "reference": event.reference, "retry": refused.reason in RETRYABLE}
    return render(request, "sso/refused.html", context, status=STATUS.get(refused.reason, 403))
