import json

import pytest

from sandbox.dingtalk.models import ApprovalInstance, SandboxSettings
from sandbox.dingtalk.views.gate import injector

pytestmark = pytest.mark.django_db
BASE = "/sandbox/dingtalk/"


def test_faults_can_be_read_and_set_as_json(client, seeded):
    assert client.get(BASE + "_faults").json()["token_ttl"] == 7200
    answer = client.post(BASE + "_faults", json.dumps({"qps_limit": 20, "latency_ms": 5}),
                         content_type="application/json")
    assert answer.json()["qps_limit"] == 20 and SandboxSettings.current().latency_ms == 5
    assert client.post(BASE + "_faults", json.dumps({"nope": 1}), content_type="application/json").status_code == 400
    assert client.post(BASE + "_faults", json.dumps({"server_error_rate": "x"}),
                       content_type="application/json").status_code == 400
    assert client.post(BASE + "_faults", json.dumps({"reset": True}), content_type="application/json").json()[
        "qps_limit"] == 0


def test_the_call_log_is_readable_as_json(client, seeded):
    injector.log.clear()
    client.get(BASE + "gettoken", {"appkey": "x", "appsecret": "y"})
    calls = client.get(BASE + "_calls", {"path": "gettoken", "list": 1}).json()
    assert calls["count"] == 1 and calls["outcomes"] == {"ok": 1} and calls["max_in_window"] == 1
    assert client.delete(BASE + "_calls").json() == {"cleared": True} and not injector.log.entries()


def test_the_admin_shows_the_sandbox(admin_client, seeded):
    instance = ApprovalInstance.objects.filter(status="RUNNING").first()
    for url in ["sandboxsettings/add/", "department/", "employee/", "approvalinstance/", "worknotice/",
                "robotmessage/", f"approvalinstance/{instance.pk}/change/"]:
        assert admin_client.get(f"/admin/sandbox_dingtalk/{url}").status_code == 200, url
    answer = admin_client.post("/admin/sandbox_dingtalk/approvalinstance/",
                               {"action": "agree", "_selected_action": [instance.pk]}, follow=True)
    assert answer.status_code == 200
    instance.refresh_from_db()
    assert instance.status == "COMPLETED"
