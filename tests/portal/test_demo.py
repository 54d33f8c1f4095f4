import io

import pytest
from django.core.management import call_command

from integrations.models import Connection, Scheme
from sso.models import IdentityMap, KingdeeSSOSettings


@pytest.mark.django_db
def test_demo_setup_prepares_connections_scheme_identities_and_sso():
    out = io.StringIO()
    call_command("demo_setup", base_url="http://127.0.0.1:8000", stdout=out)
    call_command("demo_setup", base_url="http://127.0.0.1:8000", stdout=io.StringIO())  # idempotent
    assert Connection.objects.count() == 3
    assert sorted(Scheme.objects.filter(enabled=True).values_list("template", flat=True)) == [
        "dingtalk-contacts-to-kingdee-departments", "dingtalk-contacts-to-kingdee-employees",
        "dingtalk-expense-to-kingdee-paybill"]
    assert IdentityMap.objects.filter(active=True).count() > 40
    sso = KingdeeSSOSettings.objects.get()
    assert sso.enabled and sso.kingdee.kind == "kingdee" and sso.app_secret
    assert "/sandbox/dingtalk/client/" in out.getvalue() and "_contacts" in out.getvalue()


@pytest.mark.django_db
def test_demo_command_prints_a_login_that_works(client, settings, tmp_path, monkeypatch):
    from devtools.management.commands import demo

    monkeypatch.setattr(demo, "CREDENTIALS_FILE", tmp_path / "demo-admin.json")
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    line = next(text for text in out.getvalue().splitlines() if "login:" in text)
    username, password = line.split("login:")[1].split(" / ")
    assert client.login(username=username.strip(), password=password.strip())
    assert client.get("/admin/").status_code == 200
