"""One run of a report or a stock alert: read Kingdee, render, send to robots and work notices, record.

A report sends one message per recipient channel. A stock alert sends one message per material that is
low and was not yet alerted today, and one "recovered" message per material that was alerted and is back;
`AlertState` remembers which, so a run repeated within the day sends nothing. Every message sent or failed
is kept on the run, and a failed one can be sent again as it was (`retry`).
"""

import logging
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.adapters.messages import Message, RobotTarget, TemplateError, WorkNoticeTarget, compose, message_id
from integrations.clients import client_for
from integrations.clients.errors import RemoteError
from integrations.identity import dingtalk_userid_of_staff
from integrations.models import Connection
from integrations.reports import stock, tables
from integrations.models.reports import AlertState, Report, ReportRun

logger = logging.getLogger(__name__)
TABLE_SALT = "reports.table"
STALE = timedelta(minutes=30)


def table_url(run):
    """The full table of a run, behind a signed link (readers in DingTalk have no portal login)."""
    token = signing.dumps(run.pk, salt=TABLE_SALT)
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("integrations:report_table", args=[token])


def read_tables(report, client, today):
    """{name: table} of every query of the report, read from Kingdee now."""
    result = {}
    for spec in report.queries:
        if spec.get("kind") == "stock_levels":
            rows = stock.levels(client, spec.get("orgs") or (), spec.get("warehouses") or (),
                                bool(spec.get("per_org")))
            rows = [row for row in rows if row["low"]] if spec.get("only_low", True) else rows
        else:
            fields = spec["fields"]
            keys = list(dict.fromkeys(fields.values()))
            raw = client.query_all(spec["form"], keys, tables.fill_filter(spec.get("filter"), today), "", 2000)
            rows = [{alias: dict(zip(keys, row))[key] for alias, key in fields.items()} for row in raw]
        result[spec["name"]] = tables.table(rows, spec, today)
    return result


def context_for(report, tables_, today, url=""):
    return {"report": report.name, "today": today, "yesterday": today - timedelta(days=1), "tables": tables_,
            "full_table_url": url, **{name: table for name, table in tables_.items() if name != "tables"}}


def preview(report, today=None):
    """What the report would send now, without sending: (message or None, tables, error text)."""
    today = today or timezone.localdate()
    try:
        tables_ = _jsonable(read_tables(report, client_for(report.kingdee), today))
    except RemoteError as error:
        return None, {}, _("Kingdee could not be read: %(error)s") % {"error": error}
    context = context_for(report, tables_, today, url="#")
    if report.kind == Report.Kind.STOCK_ALERT:
        rows = next(iter(tables_.values()), {"rows": []})["rows"]
        context = alert_context(report, rows[0], today, recovered=False) if rows else context
    only_notices = report.pk and report.notice_connection_id and not report.robots.exists()
    target = WorkNoticeTarget(_params(report), None) if only_notices else RobotTarget(_params(report), None)
    try:
        return compose(target.params, context, target.fits()), tables_, ""
    except TemplateError as error:
        return None, tables_, str(error)


def _params(report):
    return {"msgtype": report.msgtype, "title": report.title, "template": report.template,
            "button_title": report.button_title, "button_url": report.button_url}


@contextmanager
def claimed(report_id, even_disabled=False):
    """True while this process holds the report (a conditional UPDATE, safe across workers); False when another
    run holds it. A claim older than STALE is taken over: its worker died."""
    now = timezone.now()
    claimable = Report.objects.filter(pk=report_id).filter(
        Q(running_since__isnull=True) | Q(running_since__lt=now - STALE))
    if not even_disabled:
        claimable = claimable.filter(enabled=True)
    free = bool(claimable.update(running_since=now))
    try:
        yield free
    finally:
        if free:
            Report.objects.filter(pk=report_id, running_since=now).update(running_since=None)


def run_once(report_id, trigger, even_disabled=False, today=None):
    """A run, unless another run of the same report is in progress (then None)."""
    with claimed(report_id, even_disabled) as free:
        return run(Report.objects.get(pk=report_id), trigger, today) if free else None


def run(report, trigger=ReportRun.Trigger.MANUAL, today=None):
    today = today or timezone.localdate()
    record = ReportRun.objects.create(report=report, trigger=trigger)
    try:
        client = client_for(report.kingdee)
        if report.kind == Report.Kind.STOCK_ALERT:
            _alert(report, record, client, today)
        else:
            _report(report, record, client, today)
    except RemoteError as error:
        record.error = _("Kingdee could not be read: %(error)s") % {"error": error}
    except Exception as error:  # noqa: BLE001 — a run always ends with a status a person can read
        logger.exception("report %s failed", report.pk)
        record.error = str(error)[:2000]
    _finish(record)
    return record


def _report(report, record, client, today):
    record.tables = _jsonable(read_tables(report, client, today))
    record.save(update_fields=["tables"])
    context = context_for(report, record.tables, today, url=table_url(record))
    key = f"report:{report.pk}:{record.pk}"
    for channel in _channels(report):
        _send(record, channel, key, context)


def _alert(report, record, client, today):
    spec = next((spec for spec in report.queries if spec.get("kind") == "stock_levels"), {})
    options = {**spec, **(report.options or {})}
    rows = stock.levels(client, options.get("orgs") or (), options.get("warehouses") or (),
                        bool(options.get("per_org")))
    record.tables = _jsonable({"levels": tables.table(rows, {"name": "levels", "label": _("stock levels")}, today)})
    record.save(update_fields=["tables"])
    states = {state.key: state for state in report.states.all()}
    for row in rows:
        state = states.get(row["key"]) or AlertState(report=report, key=row["key"])
        if row["low"] and state.last_alert_on != today:
            sent = _send_alert(report, record, row, today, recovered=False, options=options)
            if sent:
                state.low, state.low_since = True, state.low_since or today
                state.last_alert_on = today
                state.save()
        elif not row["low"] and state.low:
            if _send_alert(report, record, row, today, recovered=True, options=options):
                state.low, state.low_since, state.last_alert_on = False, None, None
                state.save()


def alert_context(report, row, today, recovered):
    return {"report": report.name, "today": today, "recovered": recovered, "item": row, **row}


def _send_alert(report, record, row, today, recovered, options):
    context = alert_context(report, row, today, recovered)
    key = f"alert:{report.pk}:{row['key']}:{'ok' if recovered else 'low'}:{today:%Y-%m-%d}"
    buyer = dingtalk_userid_of_staff(row["buyer"]) if options.get("notify_buyer") and row["buyer"] else ""
    results = [_send(record, channel, key, context) for channel in _channels(report, extra_userids=[buyer])]
    return any(results)


def _channels(report, extra_userids=()):
    """(kind, connection, userids) for every robot and the work-notice app."""
    channels = [("robot", robot, []) for robot in report.robots.filter(enabled=True)]
    userids = list(dict.fromkeys(report.notice_recipients + [u for u in extra_userids if u]))
    if report.notice_connection_id and userids:
        channels.append(("work_notice", report.notice_connection, userids))
    return channels


def _send(record, channel, key, context):
    kind, connection, userids = channel
    params = _params(record.report)
    key = f"{key}:{connection.pk}"
    entry = {"channel": kind, "connection": connection.pk, "to": userids or connection.name, "key": key}
    if kind == "robot":
        target = RobotTarget(params, client_for(connection))
    else:
        target = WorkNoticeTarget({**params, "userids": ",".join(userids)}, client_for(connection))
    outcome = target.write([(key, context)])[0]
    message = {name: outcome.response.get(name, "") for name in ("msgtype", "title", "text", "button_title",
                                                                 "button_url")}
    entry.update(message=message, ok=outcome.ok, error=outcome.message, sent_at=timezone.now().isoformat())
    if not outcome.ok and not message["text"]:
        entry["message"] = _rendered_anyway(target, context)
    record.messages = [*record.messages, entry]
    record.save(update_fields=["messages"])
    return outcome.ok


def _rendered_anyway(target, context):
    try:
        return compose(target.params, context, target.fits()).as_dict()
    except TemplateError:
        return {}


def _finish(record):
    sent, failed = record.sent, record.failed
    if record.error:
        record.status = ReportRun.Status.FAILED
    elif not record.messages:
        record.status = ReportRun.Status.NOTHING
    elif failed:
        record.status = ReportRun.Status.PARTIAL if sent else ReportRun.Status.FAILED
    else:
        record.status = ReportRun.Status.SUCCEEDED
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "finished_at", "error"])


def retry(record):
    """Send the failed messages of a run again, exactly as rendered then (no remote call inside a database
    transaction; the report is claimed like a run). Returns how many went out, or None when busy."""
    with claimed(record.report_id, even_disabled=True) as free:
        if not free:
            return None
        record = ReportRun.objects.get(pk=record.pk)
        again, messages = 0, []
        for entry in record.messages:
            if not entry.get("ok") and entry.get("message", {}).get("text"):
                entry = {**entry, **_resend(entry)}
                again += entry["ok"]
            messages.append(entry)
        record.messages = messages
        record.save(update_fields=["messages"])
        _finish(record)
        return again


def _resend(entry):
    connection = Connection.objects.get(pk=entry["connection"])
    message = Message(**entry["message"])
    try:
        if entry["channel"] == "robot":
            client_for(connection).send(message.robot_body(), msg_uuid=message_id(entry["key"], message.title))
        else:
            client_for(connection).send_notice(entry["to"], message.notice_body())
    except RemoteError as error:
        return {"ok": False, "error": str(error), "sent_at": timezone.now().isoformat()}
    return {"ok": True, "error": "", "sent_at": timezone.now().isoformat()}


def _jsonable(value):
    """Tables as stored on the run: amounts as exact decimal text (templates format them with floatformat)."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
