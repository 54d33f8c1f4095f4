import io
import json

import pytest
from django.core.management import call_command
from django.db import connection as db
from django.db import transaction
from django.urls import reverse

from integrations.models import Connection

SECRET = "kd-app-secret-7f3a9c1e5b"
PASSWORD = "Sup3r-Secret-Pa55"


@pytest.fixture
def kingdee(db):
    return Connection.objects.create(
        name="金蝶正式账套",
        kind=Connection.Kind.KINGDEE,
        base_url="http://k3.example.com/k3cloud/",
        acct_id="62f3c9b0aa1b2c",
        username="demo",
        app_id="230001_K3simAppSecretTestVector00000001",
        app_secret=SECRET,
        password=PASSWORD,
    )


def raw_row(connection_id):
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM integrations_connection WHERE id = %s", [connection_id])
        return " ".join(repr(bytes(v) if isinstance(v, memoryview) else v) for v in cursor.fetchone())


def test_secrets_are_not_stored_in_plain_text(kingdee):
    row = raw_row(kingdee.pk)
    assert SECRET not in row and PASSWORD not in row
    assert Connection.objects.get(pk=kingdee.pk).app_secret == SECRET


def test_change_page_never_shows_a_stored_secret(admin_client, kingdee):
    page = admin_client.get(reverse("admin:integrations_connection_change", args=[kingdee.pk]))
    assert page.status_code == 200
    assert SECRET not in page.content.decode() and PASSWORD not in page.content.decode()


def test_changelist_and_history_never_show_a_secret(admin_client, kingdee):
    admin_client.post(reverse("admin:integrations_connection_change", args=[kingdee.pk]), change_form(kingdee))
    for url in (
        reverse("admin:integrations_connection_changelist"),
        reverse("admin:integrations_connection_history", args=[kingdee.pk]),
    ):
        body = admin_client.get(url).content.decode()
        assert SECRET not in body and "NEW-secret-value-123" not in body


def change_form(connection, **overrides):
    data = {
        "name": connection.name, "kind": connection.kind, "enabled": "on", "base_url": connection.base_url,
        "acct_id": connection.acct_id, "username": connection.username, "lcid": "2052", "org_number": "0",
        "auth_mode": connection.auth_mode, "app_id": connection.app_id, "app_secret": "NEW-secret-value-123",
        "password": "", "max_concurrency": "4", "connect_timeout": "5", "read_timeout": "60", "rate_limit": "",
    }
    data.update(overrides)
    return data


def test_empty_secret_input_keeps_the_stored_value(admin_client, kingdee):
    response = admin_client.post(
        reverse("admin:integrations_connection_change", args=[kingdee.pk]), change_form(kingdee, app_secret="")
    )
    assert response.status_code == 302
    assert Connection.objects.get(pk=kingdee.pk).app_secret == SECRET


def test_new_secret_input_replaces_and_clear_checkbox_clears(admin_client, kingdee):
    url = reverse("admin:integrations_connection_change", args=[kingdee.pk])
    admin_client.post(url, change_form(kingdee))
    assert Connection.objects.get(pk=kingdee.pk).app_secret == "NEW-secret-value-123"
    admin_client.post(url, change_form(kingdee, app_secret="", clear_password="on"))
    stored = Connection.objects.get(pk=kingdee.pk)
    assert stored.password == "" and stored.app_secret == "NEW-secret-value-123"


def test_export_lists_connections_without_secrets(admin_client, kingdee):
    response = admin_client.post(
        reverse("admin:integrations_connection_export"),
        {"format": "0", "resource": "0", **{f"connectionresource_{f}": "on" for f in ("id", "name", "secrets_set")}},
    )
    body = response.content.decode("utf-8", errors="replace")
    assert response.status_code == 200 and kingdee.name in body
    assert SECRET not in body and PASSWORD not in body


def test_dumpdata_writes_ciphertext_that_loads_back(kingdee):
    out = io.StringIO()
    call_command("dumpdata", "integrations.connection", stdout=out)
    assert SECRET not in out.getvalue() and PASSWORD not in out.getvalue()
    fields = json.loads(out.getvalue())[0]["fields"]
    assert fields["app_secret"].startswith("fernet:")
    Connection.objects.all().delete()
    fixture = io.StringIO(out.getvalue())
    fixture.name = "connections.json"
    from django.core import serializers

    for obj in serializers.deserialize("json", fixture.getvalue()):
        obj.save()
    assert Connection.objects.get(name=kingdee.name).app_secret == SECRET


def test_bulk_update_and_expressions_cannot_reach_a_secret(kingdee):
    from django.db.models import Value

    with pytest.raises(ValueError):
        Connection.objects.filter(pk=kingdee.pk).update(app_secret="x")
    kingdee.app_secret = "changed"
    with pytest.raises(ValueError):
        Connection.objects.bulk_update([kingdee], ["app_secret"])
    kingdee.app_secret = Value("expression")
    with pytest.raises(Exception, match="encrypted"), transaction.atomic():
        kingdee.save()
    assert Connection.objects.get(pk=kingdee.pk).app_secret == SECRET


def test_validation_names_missing_fields_in_chinese(admin_client, db):
    response = admin_client.post(
        reverse("admin:integrations_connection_add") + "?kind=kingdee",
        {"name": "缺字段", "kind": "kingdee", "base_url": "not a url", "lcid": "2052", "auth_mode": "signature",
         "max_concurrency": "4", "connect_timeout": "5", "read_timeout": "60", "org_number": "0"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "请输入完整的 http:// 或 https:// 地址" in body
    assert "此类连接必须填写" in body
    assert not Connection.objects.filter(name="缺字段").exists()
