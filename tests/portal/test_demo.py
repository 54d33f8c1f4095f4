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


@pytest.mark.django_db
def test_the_demo_on_another_port_links_to_that_port(settings, tmp_path, monkeypatch):
    """`make demo PORT=8080`: alerts' links (PORTAL_BASE_URL), the printed login and the sandbox connections follow."""
    from devtools.management.commands import demo

    monkeypatch.setattr(demo, "CREDENTIALS_FILE", tmp_path / "demo-admin.json")
    monkeypatch.setenv("PORTAL_BASE_URL", "unset")  # so that the environment is restored afterwards
    monkeypatch.delenv("PORTAL_BASE_URL")
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"  # through the fixture: what the command sets is undone after
    out = io.StringIO()
    call_command("demo", "--no-serve", "--port", "8080", stdout=out)
    assert settings.PORTAL_BASE_URL == "http://127.0.0.1:8080"
    assert "Portal: http://127.0.0.1:8080/admin/" in out.getvalue()
    assert all(":8080/" in url for url in Connection.objects.values_list("base_url", flat=True))


@pytest.mark.django_db
def test_a_portal_base_url_set_by_the_operator_is_kept(settings, tmp_path, monkeypatch):
    from devtools.management.commands import demo

    monkeypatch.setattr(demo, "CREDENTIALS_FILE", tmp_path / "demo-admin.json")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.cn")
    settings.PORTAL_BASE_URL = "https://portal.example.cn"
    call_command("demo", "--no-serve", "--port", "8080", stdout=io.StringIO())
    assert settings.PORTAL_BASE_URL == "https://portal.example.cn"
