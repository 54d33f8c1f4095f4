"""The engine in this process against the sandbox on the live server: the real clients, real wire formats."""

import pytest
from django.urls import reverse
from django.utils import translation

from integrations import engine, reasons
from integrations.adapters.kingdee import SaveTarget
from integrations.models import FieldMapping, SyncRecord, SyncRun, ValueMap, ValueMapEntry
from sandbox.kingdee.models import FormRecord
from sandbox import roster
from sandbox.dingtalk.models import ApprovalInstance
from tests.integrations.live import faultless, bill_counts, build_world, claim_rows, sandbox_faults

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url) as url:
        yield url


def snapshot():
    return {bill.fid: (bill.number, bill.modified_at, bill.model) for bill in FormRecord.objects.filter(
        form_id="AP_PAYBILL")}


def has_item(record, label):
    instance = ApprovalInstance.objects.get(process_instance_id=record.source_key)
    return any(row["费用明细"] == label for row in claim_rows(instance))


def test_items_kingdee_rejects_fail_with_its_message_and_retry_books_only_them(base_url, admin_client, q_sync):
    scheme = build_world(base_url, instances=120, unmapped=4)
    costs = FieldMapping.objects.get(scheme=scheme, target="FPAYBILLENTRY[].FCOSTID")
    costs.params = {**costs.params, "default": "FYXM99_SYS"}  # a catch-all number this Kingdee does not know
    costs.save()
    items = ValueMap.objects.get(scheme=scheme, name="费用明细→金蝶费用项目")
    items.entries.filter(source_value="加班餐费").delete()

    run = engine.run_scheme(scheme.pk)

    records = SyncRecord.objects.filter(scheme=scheme)
    rejected = list(records.filter(error_kind=SyncRecord.ErrorKind.REJECTED))
    assert rejected and all(record.status == Status.FAILED for record in rejected)
    assert all("FYXM99_SYS" in record.error and "不存在" in record.error for record in rejected)
    assert all(has_item(record, "加班餐费") for record in rejected)
    booked = list(records.filter(status=Status.SUCCEEDED))
    assert booked and not any(has_item(record, "加班餐费") for record in booked)
    unmapped = list(records.filter(error_kind=SyncRecord.ErrorKind.MAPPING))
    assert unmapped and all("FCONTACTUNIT" in record.error and "originator_userid" in record.error
                            and record.originator in record.error for record in unmapped)
    assert run.status == SyncRun.Status.PARTIAL and run.succeeded_count == len(booked)
    before = snapshot()

    ValueMapEntry.objects.create(value_map=items, source_value="加班餐费", target_value="FYXM09_SYS")
    admin_client.post(reverse("admin:integrations_syncrecord_changelist"),
                      {"action": "retry", "_selected_action": [record.pk for record in rejected]})

    assert all(SyncRecord.objects.get(pk=record.pk).status == Status.SUCCEEDED for record in rejected)
    after = snapshot()
    assert {fid: after[fid] for fid in before} == before
    assert len(after) == len(before) + len(rejected)
    assert set(bill_counts(base_url).values()) == {1}
    assert all(SyncRecord.objects.get(pk=record.pk).status == Status.FAILED for record in unmapped)


def test_the_preview_reads_one_real_approval_and_writes_nothing(base_url, admin_client):
    scheme = build_world(base_url, instances=30)
    key = ApprovalInstance.objects.filter(template__process_code=roster.EXPENSE_PROCESS_CODE, status="COMPLETED",
                                          result="agree").first().process_instance_id

    page = admin_client.get(reverse("admin:integrations_scheme_preview", args=[scheme.pk]), {"key": key})

    text = page.content.decode()
    assert page.status_code == 200 and key in text and "FPAYBILLENTRY[1].FCOSTID" in text
    assert not FormRecord.objects.filter(form_id="AP_PAYBILL").exists() and not SyncRecord.objects.exists()


def test_a_timeout_after_kingdee_saved_the_batch_is_reconciled_not_written_twice(base_url, monkeypatch):
    scheme = build_world(base_url, instances=40)
    sandbox_faults(base_url, "kingdee", timeout_rate=1.0, timeout_seconds=2)
    scheme.target_connection.read_timeout = 0.5
    scheme.target_connection.save()
    # The search before the first write answers in time ("nothing yet"); the save then times out after Kingdee
    # stored the bills, and so does every later search in this run.
    real_find, searches = SaveTarget.find, []
    monkeypatch.setattr(SaveTarget, "find", lambda self, keys: searches.append(1) or (
        {} if len(searches) == 1 else real_find(self, keys)))

    first = engine.run_scheme(scheme.pk)
    monkeypatch.setattr(SaveTarget, "find", real_find)

    sandbox_faults(base_url, "kingdee")
    second = engine.run_scheme(scheme.pk)
    approved = set(ApprovalInstance.objects.filter(
        template__process_code=roster.EXPENSE_PROCESS_CODE, status="COMPLETED", result="agree").values_list(
        "process_instance_id", flat=True))
    booked = set(SyncRecord.objects.filter(status=Status.SUCCEEDED).values_list("source_key", flat=True))
    counts = bill_counts(base_url)
    assert set(counts.values()) == {1} and set(counts) == booked
    assert booked == approved
    with translation.override("zh-hans"):  # saved, but unanswered, and unverifiable
        assert first.succeeded_count == 0 and "对账" in reasons.describe_run(first)
    assert second.adopted_count == len(booked)  # found by FTHIRDBILLNO and adopted, none written again
