"""The Connection admin's "测试连接" action, through the real clients, against the live sandbox."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from devtools import demo
from integrations.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)


def run_test_action(admin_client, connection):
    """The message the action left for this connection."""
    response = admin_client.post(
        reverse("admin:integrations_connection_changelist"),
        {"action": "test_connections", "_selected_action": [connection.pk]},
    )
    assert response.status_code == 302
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


@pytest.fixture
def sandbox_connections(live_server):
    credentials = demo.seed_sandbox(instances=5)
    return demo.sandbox_connections(live_server.url, credentials)


def test_the_seeded_sandbox_connections_test_successfully(admin_client, sandbox_connections):
    dingtalk, robot, kingdee = sandbox_connections
    assert run_test_action(admin_client, dingtalk).startswith("“沙箱钉钉”连接成功：星河智造科技有限公司")
    assert "连接成功" in run_test_action(admin_client, robot)
    assert run_test_action(admin_client, kingdee).startswith("“沙箱金蝶”连接成功：demo @")


def test_a_wrong_secret_shows_the_remote_systems_own_message(admin_client, sandbox_connections):
    dingtalk, _robot, kingdee = sandbox_connections
    for connection in (dingtalk, kingdee):
        connection.app_secret = "wrong-secret-0000000000"
        connection.save()
    assert run_test_action(admin_client, Connection.objects.get(pk=dingtalk.pk)) == "“沙箱钉钉”连接失败：无效的clientId或者clientSecret"
    message = run_test_action(admin_client, Connection.objects.get(pk=kingdee.pk))
    assert message.startswith("“沙箱金蝶”连接失败：") and "会话信息已丢失" in message
