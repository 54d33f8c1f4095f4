"""DingTalk's monthly call quota per app: what is used, what the month will use, and the robots' warning.

The client counts every served approval or message call in the shared store (`limiter.count`); this module
reads the counters for the dashboard and, from the worker every few minutes, alerts the robots of the
schemes that read the app once the quota is nearly used or forecast to run out before the month ends.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from integrations import alerts
from integrations.clients import limiter
from integrations.clients.dingtalk import BEIJING, app_digest, quota_key, quota_month
from integrations.models import Alert, Connection, MonthlyQuota, Scheme

STANDARD_EDITION = 5000
MIN_FORECAST_HOURS = 6  # before this much of the month has passed, a forecast says little


@dataclass
class Usage:
    connection: Connection
    used: int | None  # None: the store could not be read
    limit: int
    alert_percent: int
    forecast: int | None
    runs_out_at: datetime | None

    @property
    def percent(self):
        return round(100 * (self.used or 0) / self.limit) if self.limit else 0

    @property
    def forecast_percent(self):
        return round(100 * self.forecast / self.limit) if self.limit and self.forecast is not None else None

    @property
    def level(self):
        if self.used is None:
            return "unknown"
        if self.used >= self.limit:
            return "over"
        if self.percent >= self.alert_percent or (self.forecast or 0) >= self.limit:
            return "warn"
        return "ok"


def month_bounds(now):
    local = now.astimezone(BEIJING)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def usage(connection, now=None):
    now = now or timezone.now()
    plan = getattr(connection, "monthly_quota", None)
    limit = plan.calls_per_month if plan else STANDARD_EDITION
    used = limiter.counted(quota_key(app_digest(connection.app_key), quota_month(now)))
    forecast = runs_out_at = None
    start, end = month_bounds(now)
    elapsed = (now - start).total_seconds()
    if used is not None and elapsed >= MIN_FORECAST_HOURS * 3600:
        forecast = round(used * (end - start).total_seconds() / elapsed)
        if used and forecast > limit:
            runs_out_at = start + timedelta(seconds=elapsed * limit / used)
    return Usage(connection, used, limit, plan.alert_percent if plan else 80, forecast, runs_out_at)


def dingtalk_connections():
    return (Connection.objects.filter(kind=Connection.Kind.DINGTALK, enabled=True)
            .select_related("monthly_quota").order_by("name"))


def usages(now=None):
    return [usage(connection, now) for connection in dingtalk_connections()]


def check_quotas(now=None):
    """The worker's task: alert once a month per app whose quota is nearly used or forecast to run out."""
    now = now or timezone.now()
    sent = []
    for current in usages(now):
        if current.level not in ("warn", "over") or not _claim_month(current.connection, quota_month(now)):
            continue
        sent += _alert(current)
    return f"{len(sent)} quota alerts"


def _claim_month(connection, month):
    """One alert per app and month, whichever worker gets here first (a conditional UPDATE)."""
    MonthlyQuota.objects.get_or_create(connection=connection)
    return MonthlyQuota.objects.filter(Q(connection=connection), ~Q(alerted_month=month)).update(
        alerted_month=month) == 1


def _alert(current):
    robots = Connection.objects.filter(
        kind=Connection.Kind.DINGTALK_ROBOT, enabled=True,
        alert_schemes__enabled=True, alert_schemes__source_connection=current.connection).distinct()
    sent = []
    for robot in robots:
        with translation.override(settings.LANGUAGE_CODE):
            title, text = message(current)
        alert = Alert.objects.create(kind=Alert.Kind.QUOTA, connection=robot, title=title, text=text,
                                     scheme=Scheme.objects.filter(source_connection=current.connection,
                                                                  alert_connection=robot).first())
        alerts.deliver(alert)
        sent.append(alert)
    return sent


def message(current):
    title = gettext("%(app)s: the DingTalk monthly call quota is running out") % {"app": current.connection.name}
    lines = [f"### {title}", gettext("Used %(used)d of %(limit)d calls this month (%(percent)d%%).") % {
        "used": current.used or 0, "limit": current.limit, "percent": current.percent}]
    if current.runs_out_at is not None:
        lines.append(gettext("At this month's pace it runs out on %(day)s; after that DingTalk refuses approval "
                             "and message calls until next month.") % {
            "day": current.runs_out_at.astimezone(BEIJING).strftime("%m-%d %H:%M")})
    lines.append(gettext("Book on events rather than frequent polling, or raise the edition's quota."))
    lines.append(f"[{gettext('Open the operations dashboard')}]({alerts.portal_url(reverse('admin:integrations_dashboard'))})")
    return title, "\n\n".join(lines)
