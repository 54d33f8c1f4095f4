import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from integrations.models import Connection
from portal.roles import FINANCE, IT_ADMIN


def member_of(role):
    user = User.objects.create_user(f"user-{role}", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def connection(db):
    return Connection.objects.create(name="机器人", kind="dingtalk_robot", base_url="https://oapi.dingtalk.com/",
                                     robot_token="robot-token-123456")


def connection_urls(connection):
    return [
        reverse("admin:integrations_connection_changelist"),
        reverse("admin:integrations_connection_add") + "?kind=kingdee",
        reverse("admin:integrations_connection_change", args=[connection.pk]),
        reverse("admin:integrations_connection_delete", args=[connection.pk]),
        reverse("admin:integrations_connection_history", args=[connection.pk]),
        reverse("admin:integrations_connection_export"),
    ]


def test_the_migration_creates_both_roles(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {IT_ADMIN, FINANCE}


def test_finance_gets_403_on_every_connection_admin_url(client, connection):
    client.force_login(member_of(FINANCE))
    for url in connection_urls(connection):
        assert client.get(url).status_code == 403, url


def test_it_admin_can_add_change_and_delete_connections(client, connection):
    client.force_login(member_of(IT_ADMIN))
    for url in connection_urls(connection):
        assert client.get(url).status_code == 200, url
    response = client.post(reverse("admin:integrations_connection_delete", args=[connection.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Connection.objects.exists()


def test_it_admin_can_test_connections_and_finance_cannot(connection):
    it_admin, finance = member_of(IT_ADMIN), member_of(FINANCE)
    assert it_admin.has_perm("integrations.test_connection")
    assert not finance.has_perm("integrations.test_connection")
    assert not finance.has_perm("integrations.view_connection")
