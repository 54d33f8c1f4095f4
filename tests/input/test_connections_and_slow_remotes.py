"""A mistaken address or a slow remote costs a clear message, never a 500 or the web server's timeout."""

import pytest
from django.urls import reverse

from devtools import demo
from integrations.clients import deadline
from integrations.models import Connection
from tests.integrations.live import faultless, sandbox_faults
from tests.portal.test_test_connection import run_test_action


def add_connection(admin_client, base_url):
    return admin_client.post(reverse("admin:integrations_connection_add") + "?kind=kingdee", {
        "name": "金蝶", "kind": "kingdee", "enabled": "on", "base_url": base_url, "acct_id": "1", "username": "a",
        "app_id": "x", "app_secret": "y", "kingdee_auth": "signature", "lcid": "2052", "org_number": "100",
        "rate_limit": "", "max_concurrency": "4", "connect_timeout": "5", "read_timeout": "60",
    })


@pytest.mark.parametrize("base_url", ["http://k3erp:80800/k3cloud/", "http://k3erp:0/k3cloud/",
                                      "http://k3erp:abc/k3cloud/"])
def test_an_address_with_an_impossible_port_is_refused_at_save(admin_client, base_url):
    response = add_connection(admin_client, base_url)

    assert response.status_code == 200
    assert "端口" in response.content.decode()
    assert not Connection.objects.exists()


def test_testing_a_stored_address_with_an_impossible_port_says_so(admin_client, db):
    connection = Connection.objects.create(name="金蝶", kind="kingdee", base_url="http://127.0.0.1:80800/k3cloud/",
                                           acct_id="1", username="a", app_id="x", app_secret="y")

    message = run_test_action(admin_client, connection)

    assert message.startswith("“金蝶”")
    assert "端口" in message


@pytest.fixture
def sandbox(live_server):
    credentials = demo.seed_sandbox(instances=5)
    with faultless(live_server.url) as url:
        yield url, demo.sandbox_connections(url, credentials)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("system", ["kingdee", "dingtalk"])
def test_testing_a_connection_to_a_slow_remote_ends_within_the_budget(admin_client, sandbox, monkeypatch, system):
    base_url, (dingtalk, _robot, kingdee) = sandbox
    monkeypatch.setattr(deadline, "INTERACTIVE_SECONDS", 1)
    sandbox_faults(base_url, system, latency_ms=2500)

    message = run_test_action(admin_client, kingdee if system == "kingdee" else dingtalk)

    assert "1 秒内没有回答" in message


@pytest.mark.django_db(transaction=True)
def test_the_mapping_preview_of_a_slow_source_ends_within_the_budget(live_server, monkeypatch):
    from integrations import engine
    from tests.integrations.live import build_world

    with faultless(live_server.url) as base_url:
        scheme = build_world(base_url, instances=5)
        monkeypatch.setattr(deadline, "INTERACTIVE_SECONDS", 1)
        sandbox_faults(base_url, "dingtalk", latency_ms=2500)

        result = engine.preview(scheme, "any-instance-id")

    assert "1 秒内没有回答" in result.error and result.payload is None
