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


@pytest.mark.django_db
def test_demo_command_prints_a_finance_login_that_reaches_the_review_list_only(client, tmp_path, monkeypatch):
    from devtools.management.commands import demo

    monkeypatch.setattr(demo, "CREDENTIALS_FILE", tmp_path / "demo-admin.json")
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    call_command("demo", "--no-serve", stdout=io.StringIO())  # the same logins again
    line = next(text for text in out.getvalue().splitlines() if "Finance" in text)
    username, password = line.split("login:")[1].split(" / ")
    assert client.login(username=username.strip(), password=password.strip())
    assert client.get("/admin/integrations/reviewrecord/").status_code == 200
    assert client.get("/admin/integrations/connection/").status_code == 403


@pytest.mark.django_db
def test_the_sandbox_client_marks_the_employees_the_demo_left_unmapped(client):
    call_command("demo_setup", base_url="http://127.0.0.1:8000", stdout=io.StringIO())
    page = client.get("/sandbox/dingtalk/client/").content.decode()
    assert page.count("未映射：登录金蝶会被拒绝") == 4 and IdentityMap.objects.count() > 40
    assert "标出门户无法对应到金蝶用户的 4 名员工" in page
