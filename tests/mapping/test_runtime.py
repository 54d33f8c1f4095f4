"""A row that cannot be set fails its record alone, with a reason naming the field; the run goes on."""

from integrations import engine
from integrations.models import FieldMapping, SyncRecord, SyncRun
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent


def test_colliding_rows_saved_before_the_check_fail_each_record_with_the_field_named(scheme, remote):
    # Rows stored before save-time checks existed (or written straight into the database).
    FieldMapping.objects.create(scheme=scheme, position=999, target="FREMARK.X", source="title")
    remote.dingtalk.add(claim("a", created=recent(3)), claim("b", created=recent(2)))
    run = engine.run_scheme(scheme.pk)
    assert run.status != SyncRun.Status.RUNNING and run.failed_count == 2 and not remote.kingdee.bills
    for record in SyncRecord.objects.filter(scheme=scheme):
        assert record.status == SyncRecord.Status.FAILED and "FREMARK" in record.error
