"""付款申请 / 借款审批 → 金蝶付款单 against the sandbox: nested tables, 分 → 元 and attachments as round 2 shapes them."""

import json
from decimal import Decimal

import pytest

from integrations import engine
from integrations.models import SyncRecord
from sandbox.dingtalk import accounting as dingtalk_accounting
from sandbox.dingtalk.models import ApprovalInstance
from sandbox.kingdee import accounting as kingdee_accounting
from tests.accounting.helpers import LOAN, PAYMENT, bill, records, template_scheme
from tests.integrations.live import faultless

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url) as url:
        yield url


def payment_rows(instance):
    value = next(c["value"] for c in instance.form_values if c.get("name") == "付款明细")
    rows = []
    for row in json.loads(value):
        cells = {cell["label"]: cell["value"] for cell in row["rowValue"]}
        splits = json.loads(cells["项目分摊"])
        parts = [{c["label"]: c["value"] for c in split["rowValue"]} for split in splits if "rowValue" in split]
        rows.append((cells["费用明细"], int(cells["金额(分)"]), parts))
    return rows


def files_of(instance):
    value = next(c["value"] for c in instance.form_values if c.get("name") == "附件")
    return json.loads(value)


def test_payment_requests_nested_rows_amounts_in_fen_and_files_arrive_as_the_reference_shapes_them(base_url):
    scheme = template_scheme(base_url, PAYMENT, instances=30)

    engine.run_scheme(scheme.pk)

    booked = records(scheme, Status.SUCCEEDED)
    assert booked, [(r.status, r.error) for r in records(scheme)][:5]
    assert not records(scheme, Status.FAILED), [r.error for r in records(scheme, Status.FAILED)][:3]
    for record in booked:
        instance = ApprovalInstance.objects.get(process_instance_id=record.source_key)
        paybill = bill("AP_PAYBILL", record)
        entries = paybill.model["FPAYBILLENTRY"]
        expected = []
        for _item, cents, parts in payment_rows(instance):
            expected += [Decimal(part["金额(分)"]) / 100 for part in parts] or [Decimal(cents) / 100]
        assert len(entries) == len(expected)  # one entry per nested row; a row without splits stands alone
        for entry, amount in zip(entries, expected):
            assert Decimal(str(entry["FPAYTOTALAMOUNTFOR"])) == amount
        bound = kingdee_accounting.attachments_of("AP_PAYBILL", paybill.fid)
        wanted = files_of(instance)
        assert sorted(f["FAttachmentName"] for f in bound) == sorted(f["fileName"] for f in wanted)
        for file in bound:
            assert file["FBillNo"] == paybill.number and file["FInterID"] == str(paybill.fid)
        contents = sorted(kingdee_accounting_bytes(f) for f in bound)
        assert contents == sorted(dingtalk_accounting.content_of(f["fileId"], f["fileSize"]) for f in wanted)


def kingdee_accounting_bytes(file):
    import base64

    return base64.b64decode(file["content"])


def test_a_file_that_cannot_be_read_fails_the_record_and_nothing_is_written(base_url):
    scheme = template_scheme(base_url, LOAN, instances=30)
    broken = ApprovalInstance.objects.filter(template__process_code=dingtalk_accounting.LOAN_PROCESS_CODE,
                                             status="COMPLETED", result="agree").first()
    values = broken.form_values
    for component in values:
        if component.get("name") == "附件":
            files = json.loads(component["value"])
            files[0]["fileSize"] = "0"  # DingTalk gives no download link for an empty file
            component["value"] = json.dumps(files, ensure_ascii=False)
    broken.form_values = values
    broken.save()

    engine.run_scheme(scheme.pk)

    record = SyncRecord.objects.get(scheme=scheme, source_key=broken.process_instance_id)
    assert record.status == Status.FAILED and record.reason_code == "attachment_failed", (record.response, record.payload.get("ATTACHMENTS"), files)
    assert not record.target_id
    from sandbox.kingdee.models import FormRecord

    assert not FormRecord.objects.filter(form_id="AP_PAYBILL", third_bill_no=broken.process_instance_id).exists()
    booked = records(scheme, Status.SUCCEEDED)
    assert booked and all(kingdee_accounting.attachments_of("AP_PAYBILL", r.target_id) for r in booked)


@pytest.mark.parametrize("slug", ["dingtalk-expense-to-kingdee-voucher", LOAN, PAYMENT])
def test_preview_works_on_each_new_template(base_url, slug):
    scheme = template_scheme(base_url, slug, instances=20)
    code = scheme.source_params["process_code"]
    key = ApprovalInstance.objects.filter(template__process_code=code, status="COMPLETED", result="agree") \
        .values_list("process_instance_id", flat=True).first()

    preview = engine.preview(scheme, key)

    assert not preview.error and not preview.errors, (preview.error, preview.errors)
    assert preview.payload and preview.verdict
    if slug == PAYMENT:
        assert all(isinstance(entry["FPAYTOTALAMOUNTFOR"], float) for entry in preview.payload["FPAYBILLENTRY"])
        assert preview.payload["ATTACHMENTS"]
