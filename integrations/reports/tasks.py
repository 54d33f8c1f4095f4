"""django-q2 doorways for reports and alerts: they take ids, run, and return a one-line summary."""

from django.db import transaction
from django_q.tasks import async_task

from integrations.reports import runner
from integrations.models.reports import Report, ReportRun


def summary(record):
    if record is None:
        return "skipped: the report is disabled, gone or already running"
    return f"report run {record.pk} {record.status}: sent {record.sent}, failed {record.failed}"


def run_scheduled_report(report_id):
    return summary(runner.run_once(report_id, ReportRun.Trigger.SCHEDULE))


def run_report_now(report_id):
    return summary(runner.run_once(report_id, ReportRun.Trigger.MANUAL, even_disabled=True))


def retry_run(run_id):
    record = ReportRun.objects.filter(pk=run_id).first()
    return f"report run {run_id}: {runner.retry(record) if record else 0} message(s) sent again"


def enqueue_report(report):
    transaction.on_commit(lambda: async_task("integrations.reports.tasks.run_report_now", report.pk,
                                             task_name=f"report {report.pk} run now", group=f"report-{report.pk}"))


def enqueue_retry(record):
    transaction.on_commit(lambda: async_task("integrations.reports.tasks.retry_run", record.pk,
                                             task_name=f"report run {record.pk} retry",
                                             group=f"report-{record.report_id}"))


__all__ = ["Report", "enqueue_report", "enqueue_retry", "retry_run", "run_report_now", "run_scheduled_report"]
