"""钉钉费用报销 → 金蝶凭证 against the sandbox: one balanced voucher per approved claim."""

from decimal import Decimal

import pytest

from integrations import engine
from integrations.models import SyncRecord
from sandbox.dingtalk.models import ApprovalInstance
from tests.accounting.helpers import VOUCHER, bill, records, template_scheme
from tests.integrations.live import claim_rows, faultless

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url) as url:
        yield url


def test_each_approved_claim_becomes_one_balanced_voucher_whose_debit_total_is_the_claim(base_url):
    scheme = template_scheme(base_url, VOUCHER, instances=40)

    engine.run_scheme(scheme.pk)

    booked = records(scheme, Status.SUCCEEDED)
    assert booked, [(r.status, r.error) for r in records(scheme)][:5]
    assert not records(scheme, Status.FAILED), [r.error for r in records(scheme, Status.FAILED)][:3]
    numbers = set()
    for record in booked:
        voucher = bill("GL_VOUCHER", record).model
        instance = ApprovalInstance.objects.get(process_instance_id=record.source_key)
        rows = voucher["FEntity"]
        debit = sum(Decimal(str(row["FDEBIT"])) for row in rows)
        credit = sum(Decimal(str(row["FCREDIT"])) for row in rows)
        claim = sum(Decimal(row["报销金额(元)"]) for row in claim_rows(instance))
        assert debit == credit == claim == record.amount
        assert len(rows) == len(claim_rows(instance)) + 1
        assert rows[-1]["FACCOUNTID"] == {"FNumber": "2241.01"} and rows[-1]["FDetailID"]["FDETAILID__FFLEX7"]
        assert all(f"CVN:{record.source_key}" in row["FEXPLANATION"] for row in rows)
        day = voucher["FDate"][:10]
        assert (voucher["FYEAR"], voucher["FPERIOD"]) == (int(day[:4]), int(day[5:7]))
        numbers.add((voucher["FYEAR"], voucher["FPERIOD"], voucher["FVOUCHERGROUPNO"]))
    assert len(numbers) == len(booked)  # voucher numbers are unique per period and 凭证字

    engine.run_scheme(scheme.pk)  # nothing twice
    assert len(records(scheme, Status.SUCCEEDED)) == len(booked)
