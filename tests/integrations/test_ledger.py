from decimal import Decimal

import pytest

from integrations.engine import ledger
from integrations.models import SyncRecord, SyncRun, Trigger
from django.db.models import F

Status = SyncRecord.Status


@pytest.fixture
def record(scheme):
    return SyncRecord.objects.create(scheme=scheme, source_key="k1", status=Status.WRITING, claim="token")


def test_an_update_lands_only_on_a_record_in_the_expected_state(record):
    assert not ledger.update_record(record.pk, when_status=(Status.PENDING,), status=Status.SUCCEEDED)
    assert not ledger.update_record(record.pk, when_claim="another", status=Status.SUCCEEDED)
    assert not ledger.update_record(record.pk, when_status=(), status=Status.SUCCEEDED)
    assert ledger.update_record(record.pk, when_status=(Status.PENDING, Status.WRITING), when_claim="token",
                                status=Status.SUCCEEDED, claim="")
    record.refresh_from_db()
    assert (record.status, record.claim) == (Status.SUCCEEDED, "")


def test_an_update_stores_json_foreign_keys_decimals_and_nulls_as_the_orm_does(record, scheme):
    run = SyncRun.objects.create(scheme=scheme, trigger=Trigger.MANUAL)
    before = record.updated_at
    ledger.update_record(record.pk, run=run, payload={"FNumber": "张伟", "rows": [1.5, None]}, amount=Decimal("10.5"),
                         response=None, reason_params={}, source_data={"a": "b"})
    record.refresh_from_db()
    assert record.run == run and record.payload == {"FNumber": "张伟", "rows": [1.5, None]}
    assert record.amount == Decimal("10.50") and record.response is None and record.source_data == {"a": "b"}
    assert record.updated_at > before


def test_an_update_with_an_expression_is_conditioned_too(record):
    assert not ledger.update_record(record.pk, when_claim="another", attempts=F("attempts") + 1)
    assert ledger.update_record(record.pk, when_claim="token", attempts=F("attempts") + 1)
    record.refresh_from_db()
    assert record.attempts == 1
