"""A Yida process (approval) form books an instance only once it is approved: the seeded approved instances become
sales orders, the running one waits, the refused one is skipped; approving the running one through the door books
it on the next run, once (real HTTP against the live sandboxes)."""

import pytest
import requests

from integrations import engine
from integrations.models import SyncRecord
from sandbox.dingtalk.models import YidaInstance
from tests.yida.conftest import TEMPLATES, bills

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status


def test_only_approved_process_instances_are_booked_and_a_running_one_when_approved(world):
    form_uuid = world.credentials["yida"]["forms"]["sale_approval"]
    scheme = world.scheme(TEMPLATES["sale"], form_uuid=form_uuid, user_id=world.credentials["yida"]["user_id"],
                          form_kind="process")
    seeded = {i.form_instance_id: (i.instance_status, i.approved_result)
              for i in YidaInstance.objects.filter(form__form_uuid=form_uuid)}
    approved = {key for key, outcome in seeded.items() if outcome == ("COMPLETED", "agree")}
    [running] = [key for key, (status, _result) in seeded.items() if status == "RUNNING"]
    [refused] = [key for key, outcome in seeded.items() if outcome == ("COMPLETED", "disagree")]

    run = engine.run_scheme(scheme.pk)

    assert run.failed_count == 0, [r.error for r in SyncRecord.objects.filter(status=Status.FAILED)]
    assert set(bills("SAL_SaleOrder")) & set(seeded) == approved
    ledger = dict(SyncRecord.objects.filter(scheme=scheme).values_list("source_key", "status"))
    assert ledger[running] == Status.WAITING and ledger[refused] == Status.SKIPPED

    response = requests.post(f"{world.base_url}/sandbox/dingtalk/_yida", timeout=10, json={
        "formUuid": form_uuid, "formInstanceId": running, "formData": {},
        "instanceStatus": "COMPLETED", "approvedResult": "agree"})
    assert response.status_code == 200 and response.json()["approvedResult"] == "agree"
    world.clear_calls()

    again = engine.run_scheme(scheme.pk)

    assert again.failed_count == 0, again.error
    found = bills("SAL_SaleOrder")
    assert set(found) & set(seeded) == approved | {running}
    assert all(len(found[key]) == 1 for key in approved | {running})
    assert SyncRecord.objects.get(scheme=scheme, source_key=running).status == Status.SUCCEEDED
    assert len(world.kingdee_writes()) == 1  # the newly approved one only
