"""Schemes of the accounting templates on the sandbox served by the live server."""

from datetime import timedelta

import requests
from django.utils import timezone

from devtools import demo
from integrations import market
from integrations.models import Scheme, SyncRecord
from sandbox.kingdee.models import FormRecord
from tests.integrations.live import build_world

VOUCHER = "dingtalk-expense-to-kingdee-voucher"
LOAN = "dingtalk-loan-to-kingdee-paybill"
PAYMENT = "dingtalk-payment-request-to-kingdee-paybill"


def template_scheme(base_url, slug, *, instances=60, **overrides):
    """The sandbox seeded, the demo connections and identities, and a manual scheme from template `slug`."""
    expense = build_world(base_url, instances=instances)
    scheme = market.create_scheme(slug, source_connection=expense.source_connection,
                                  target_connection=expense.target_connection, name=f"{slug} 测试")
    scheme.schedule_kind = Scheme.ScheduleKind.MANUAL
    scheme.start_from = timezone.now() - timedelta(days=demo.SEED_DAYS + 1)
    for field, value in overrides.items():
        setattr(scheme, field, value)
    scheme.save()
    expense.enabled = False
    expense.save()
    return scheme


def close_period(base_url, module, month):
    response = requests.post(f"{base_url}/sandbox/kingdee/_periods", json={"module": module, "closed_through": month},
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def records(scheme, status=None):
    found = SyncRecord.objects.filter(scheme=scheme)
    return list(found.filter(status=status) if status else found)


def bill(form_id, record):
    return FormRecord.objects.get(form_id=form_id, fid=int(record.target_id))


def month_to_close(approved):
    """A month that leaves some of these approved instances in a closed period and some in an open one."""
    from zoneinfo import ZoneInfo

    months = sorted({instance.finish_time.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
                     for instance in approved})
    assert len(months) > 1, "the approved instances span one month only"
    return months[(len(months) - 1) // 2]
