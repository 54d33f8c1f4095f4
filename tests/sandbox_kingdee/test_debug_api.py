"""The JSON API that tests and benchmarks in other processes use: faults, calls, bill counts."""

import json

import pytest

from sandbox.kingdee.models import KingdeeFaults
from tests.sandbox_kingdee.payloads import paybill

pytestmark = pytest.mark.django_db


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_fault_knobs_are_read_and_set_over_json(client):
    answer = post_json(client, "/sandbox/kingdee/_faults", {"seed": 9, "session_loss_every": 3, "throttle_rate": 0.2})

    assert answer.status_code == 200
    assert answer.json()["session_loss_every"] == 3
    assert client.get("/sandbox/kingdee/_faults").json()["throttle_rate"] == 0.2
    assert KingdeeFaults.current().seed == 9


@pytest.mark.parametrize("body", [{"nonsense": 1}, {"throttle_rate": 2}, {"latency_ms": -1}, [1]])
def test_bad_fault_settings_are_refused(client, body):
    assert post_json(client, "/sandbox/kingdee/_faults", body).status_code == 400


def test_reset_restores_every_knob(client):
    post_json(client, "/sandbox/kingdee/_faults", {"latency_ms": 50, "item_error_rate": 0.5})

    answer = post_json(client, "/sandbox/kingdee/_faults", {"reset": True}).json()

    assert answer["latency_ms"] == 0 and answer["item_error_rate"] == 0


def test_the_call_log_lists_and_clears_calls(api, client):
    api.query("BD_Currency", "FNumber")

    log = client.get("/sandbox/kingdee/_calls").json()
    assert [call["service"] for call in log["calls"]] == ["AuthService.ValidateUser",
                                                          "DynamicFormService.ExecuteBillQuery"]
    assert log["outcomes"] == {"ok": 2}
    assert client.delete("/sandbox/kingdee/_calls").json() == {"cleared": True}
    assert client.get("/sandbox/kingdee/_calls").json()["count"] == 0


def test_bill_counts_per_third_bill_number_show_duplicates(api, client, people):
    api.save([paybill(people[0], "D-1"), paybill(people[1], "D-1"), paybill(people[2], "D-2")], service="BatchSave")

    counts = client.get("/sandbox/kingdee/_bills", {"form": "AP_PAYBILL"}).json()

    assert counts["total"] == 3
    assert counts["by_third_bill_no"] == {"D-1": 2, "D-2": 1}
    assert counts["duplicates"] == {"D-1": 2}
