"""Group-robot alerts: failed records, failing runs, a stopped worker.

A run that ends with failures hands its id to the worker (`run_finished`, called by the engine); the
worker decides whether the run deserves an alert and sends it, so a robot that is slow, throttled or
misconfigured never holds a run up: its failure is written on the Alert row. A stopped worker cannot
report itself: `check_worker` runs from cron (`manage.py check_worker`).

No storms: each scheme (each robot, for worker alerts) has an AlertGate row, and an alert is sent only by
the process whose conditional UPDATE moved the gate's `last_sent_at` past the window. Alerts held back in
the window are counted and the next alert says how many.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django_q.tasks import async_task

from integrations.clients import client_for
from integrations.clients.errors import RemoteError
from integrations import review
from integrations.reasons import describe_run
from integrations.models import Alert, AlertGate, Connection, Scheme, SyncRecord, SyncRun

logger = logging.getLogger("integrations.alerts")
Kind = Alert.Kind
TOP_REASONS = 3


# ---- the engine's hook -------------------------------------------------------------------------


def run_finished(run):
    """Queue the alert check of a finished run for the worker, when the run had failures and its scheme
    has a robot. Never raises: alerting must not break a run that has already been recorded."""
    try:
        if run.status == SyncRun.Status.SUCCEEDED and not run.failed_count:
            return
        if Scheme.objects.filter(pk=run.scheme_id, alert_connection__enabled=True).exists():
            transaction.on_commit(lambda: async_task(
                "integrations.alerts.send_run_alert", run.pk, task_name=f"alert for run {run.pk}", group="alerts"))
    except Exception:  # noqa: BLE001 (logged with its traceback; the run itself is already saved)
        logger.exception("could not queue the alert of run %s", run.pk)


# ---- tasks (the worker) ------------------------------------------------------------------------


def send_run_alert(run_id):
    run = SyncRun.objects.select_related("scheme__alert_connection").get(pk=run_id)
    scheme, robot = run.scheme, run.scheme.alert_connection
    kind = kind_of(run)
    if kind is None or robot is None or not robot.enabled:
        return f"run {run_id}: no alert"
    held_back = open_gate(f"scheme:{scheme.pk}", scheme.alert_window_minutes)
    if held_back is None:
        return f"run {run_id}: held back (the scheme alerted less than {scheme.alert_window_minutes} min ago)"
    with translation.override(settings.LANGUAGE_CODE):
        title, text = run_message(run, kind, held_back)
    alert = Alert.objects.create(kind=kind, scheme=scheme, run=run, connection=robot, title=title, text=text,
                                 held_back=held_back)
    return deliver(alert)


def kind_of(run):
    """RUNS_FAILED when the scheme's last N finished runs all failed, RECORDS_FAILED when this run failed records."""
    scheme = run.scheme
    last = list(scheme.runs.exclude(status=SyncRun.Status.RUNNING).order_by("-started_at")
                .values_list("status", flat=True)[:scheme.alert_after_failed_runs])
    if len(last) == scheme.alert_after_failed_runs and set(last) == {SyncRun.Status.FAILED}:
        return Kind.RUNS_FAILED
    if run.failed_count:
        return Kind.RECORDS_FAILED
    return None


def check_worker(stale_after=None):
    """Alert every robot of an enabled scheme when the worker's heartbeat is older than `stale_after` seconds.
    Returns the alerts sent or attempted."""
    from portal.models import Heartbeat
    from portal.tasks import WORKER
    from portal.views import WORKER_STALE_AFTER

    age = Heartbeat.age_seconds(WORKER)
    if age is None or age <= (stale_after or WORKER_STALE_AFTER):
        return []
    alerts = []
    robots = Connection.objects.filter(kind=Connection.Kind.DINGTALK_ROBOT, enabled=True,
                                       alert_schemes__enabled=True).distinct()
    for robot in robots:
        schemes = list(robot.alert_schemes.filter(enabled=True).order_by("name"))
        held_back = open_gate(f"worker:{robot.pk}", max(scheme.alert_window_minutes for scheme in schemes))
        if held_back is None:
            continue
        with translation.override(settings.LANGUAGE_CODE):
            title, text = worker_message(age, schemes, held_back)
        alert = Alert.objects.create(kind=Kind.WORKER_STOPPED, connection=robot, title=title, text=text,
                                     held_back=held_back)
        deliver(alert)
        alerts.append(alert)
    return alerts


# ---- the window --------------------------------------------------------------------------------


def open_gate(key, window_minutes):
    """Take the alert window of `key`: the number of alerts held back since the last one, or None when
    another alert was sent within the window (this one is then counted as held back)."""
    now = timezone.now()
    AlertGate.objects.get_or_create(key=key)
    taken = AlertGate.objects.filter(
        Q(last_sent_at__isnull=True) | Q(last_sent_at__lte=now - timedelta(minutes=window_minutes)), key=key,
    ).update(last_sent_at=now)
    gate = AlertGate.objects.filter(key=key)
    if not taken:
        gate.update(held_back=F("held_back") + 1)
        return None
    held_back = gate.values_list("held_back", flat=True).first() or 0
    gate.update(held_back=0)
    return held_back


# ---- sending -----------------------------------------------------------------------------------


def deliver(alert):
    """Send one alert through its robot; the outcome is written on the row. Returns a short summary."""
    try:
        client_for(alert.connection).send_markdown(alert.title, alert.text, msg_uuid=f"portal-alert-{alert.pk}")
    except RemoteError as error:
        logger.warning("alert %s could not be sent through %s: %s", alert.pk, alert.connection, error.message)
        Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.FAILED, error=error.message[:2000])
        return f"alert {alert.pk} not sent: {error.message}"
    except Exception as error:
        Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.FAILED, error=repr(error)[:2000])
        raise
    Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.SENT, sent_at=timezone.now())
    return f"alert {alert.pk} sent to {alert.connection}"


def portal_url(path, **query):
    return settings.PORTAL_BASE_URL.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")


def review_url(scheme):
    return portal_url(reverse("admin:integrations_reviewrecord_changelist"), scheme__id__exact=scheme.pk,
                      review="failed")


def top_reasons(scheme, run=None):
    records = SyncRecord.objects.filter(scheme=scheme, status=SyncRecord.Status.FAILED)
    if run is not None:
        records = records.filter(run=run)
    return review.top_reasons(records, TOP_REASONS)


def run_message(run, kind, held_back):
    scheme = run.scheme
    open_failed = SyncRecord.objects.filter(scheme=scheme, status=SyncRecord.Status.FAILED).count()
    lines = []
    if kind == Kind.RUNS_FAILED:
        title = gettext("%(scheme)s: %(count)d runs failed in a row") % {
            "scheme": scheme.name, "count": scheme.alert_after_failed_runs}
        lines.append(f"### {title}")
        lines.append(gettext("Last error: %(error)s") % {"error": first_line(describe_run(run)) or "—"})
    else:
        title = ngettext("%(scheme)s: %(count)d record did not reach the target",
                         "%(scheme)s: %(count)d records did not reach the target", run.failed_count) % {
            "scheme": scheme.name, "count": run.failed_count}
        lines.append(f"### {title}")
    lines.append(gettext("Run #%(run)d (%(trigger)s, %(when)s): booked %(booked)d, failed **%(failed)d**, "
                         "skipped %(skipped)d.") % {
        "run": run.pk, "trigger": run.get_trigger_display(), "booked": run.succeeded_count,
        "failed": run.failed_count, "skipped": run.skipped_count,
        "when": timezone.localtime(run.finished_at or timezone.now()).strftime("%m-%d %H:%M")})
    lines.append(ngettext("%(count)d failed record is waiting for review.",
                          "%(count)d failed records are waiting for review.", open_failed) % {"count": open_failed})
    reasons = top_reasons(scheme, run) or top_reasons(scheme)
    if reasons:
        lines.append(gettext("Main reasons:"))
        lines += [f"- {first_line(error)[:120]} ×{count}" for error, count in reasons]
    if held_back:
        lines.append(ngettext("(%(count)d more alert was held back since the last one.)",
                              "(%(count)d more alerts were held back since the last one.)", held_back)
                     % {"count": held_back})
    lines.append(f"[{gettext('Open the failed records')}]({review_url(scheme)})")
    return title, "\n\n".join(lines)


def worker_message(age, schemes, held_back):
    title = gettext("The portal's worker has stopped")
    lines = [f"### {title}", gettext("Last heartbeat %(minutes)d minutes ago: no scheme runs, retries or backfills "
                                     "until a worker (manage.py qcluster) is running again.") % {
        "minutes": age // 60}]
    lines.append(gettext("Schemes affected: %(names)s") % {"names": "、".join(scheme.name for scheme in schemes)})
    if held_back:
        lines.append(ngettext("(%(count)d more alert was held back since the last one.)",
                              "(%(count)d more alerts were held back since the last one.)", held_back)
                     % {"count": held_back})
    lines.append(f"[{gettext('Open the dashboard')}]({portal_url(reverse('admin:integrations_dashboard'))})")
    return title, "\n\n".join(lines)


def first_line(text):
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
