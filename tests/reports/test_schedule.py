"""Reports run on their cron schedule through django-q; a disabled report has none."""

import pytest
from django_q.models import Schedule

from integrations.models import Connection, Report
from integrations.reports import market, tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kingdee():
    return Connection.objects.create(name="金蝶", kind="kingdee", base_url="http://127.0.0.1:9/")


def test_a_report_gets_a_cron_schedule_that_follows_its_settings(kingdee):
    report = market.create_report("kingdee-daily-sales-receipts", kingdee=kingdee)
    schedule = Schedule.objects.get(pk=Report.objects.get(pk=report.pk).schedule_id)

    assert (schedule.func, schedule.cron, schedule.args) == (
        "integrations.reports.tasks.run_scheduled_report", "0 8 * * *", repr(report.pk))
    assert schedule.next_run.minute == 0

    report.refresh_from_db()
    report.cron = "15 7 * * 1-5"
    report.save()
    assert Schedule.objects.get(pk=schedule.pk).cron == "15 7 * * 1-5"

    report.enabled = False
    report.save()
    assert not Schedule.objects.filter(pk=schedule.pk).exists()


def test_a_scheduled_run_of_a_disabled_or_missing_report_does_nothing(kingdee):
    report = market.create_report("kingdee-daily-sales-receipts", kingdee=kingdee, enabled=False)

    assert tasks.run_scheduled_report(report.pk).startswith("skipped")
    assert tasks.run_scheduled_report(999999).startswith("skipped")
