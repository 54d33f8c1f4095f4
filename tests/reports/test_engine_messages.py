"""A scheme from Kingdee to a DingTalk group through the engine's message mode: every new sales outbound line is
posted once, and a second run posts nothing."""

from datetime import timedelta

from django.utils import timezone

from integrations import engine
from integrations.models import FieldMapping, Scheme, SyncRecord
from sandbox.kingdee.models import FormRecord
from tests.reports.helpers import messages


def test_new_sales_outbound_lines_reach_the_group_once_through_the_engine(world):
    yesterday = timezone.localdate() - timedelta(days=1)  # a few lines: the robot takes 20 messages a minute
    scheme = Scheme.objects.create(
        name="新出库单 → 钉钉群", source_kind="kingdee.query", target_kind="dingtalk.robot",
        source_connection=world["kingdee"], target_connection=world["robot"], batch_size=20,
        start_from=timezone.now() - timedelta(hours=1), schedule_kind=Scheme.ScheduleKind.MANUAL,
        source_params={"form_id": "SAL_OUTSTOCK", "fields": "FBillNo,FCustomerID.FName,FMaterialID.FName,FAllAmount",
                       "key_fields": "FBillNo,FEntity_FEntryID", "filter": f"FDate >= '{yesterday}'"},
        target_params={"title": "出库 {{ bill }}", "template": "{{ customer }}：{{ material }} ¥{{ amount|money }}"})
    for position, (target, source) in enumerate([("bill", "FBillNo"), ("customer", "FCustomerID.FName"),
                                                 ("material", "FMaterialID.FName"), ("amount", "FAllAmount")]):
        FieldMapping.objects.create(scheme=scheme, position=position, target=target, source=source)
    bills = FormRecord.objects.filter(form_id="SAL_OUTSTOCK", number__startswith=f"XSCKD{yesterday:%Y%m%d}")
    # Bills saved before the run, as in life: a run reads changes up to the second it starts (`FModifyDate <`
    # that second, the next run from it), so bills seeded in the same second as the run are the next run's.
    bills.update(modified_at=timezone.now() - timedelta(seconds=5))
    lines = sum(len(bill.model["FEntity"]) for bill in bills)

    first = engine.run_scheme(scheme.pk)
    after_first = messages(world["url"])
    engine.run_scheme(scheme.pk)

    outcomes = list(SyncRecord.objects.filter(scheme=scheme).values_list("status", "error"))
    assert first.succeeded_count == lines == len(after_first), (first.status, first.error, first.stats, outcomes)
    assert len(messages(world["url"])) == lines
    assert SyncRecord.objects.filter(scheme=scheme, status=SyncRecord.Status.SUCCEEDED).count() == lines
    bill = bills.order_by("number").first()
    assert any(m["title"] == f"出库 {bill.number}" for m in after_first)
