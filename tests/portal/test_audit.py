"""Logins to the portal itself are logged beside SSO logins; old logs are pruned, the ledger never."""

import io
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from integrations.models import Connection, DingTalkEvent, Scheme, SyncRecord
from portal.models import PortalLogin
from sso.models import LoginEvent

pytestmark = pytest.mark.django_db


def test_a_portal_login_and_a_failed_one_are_logged_with_the_user_name_and_address(client):
    User.objects.create_user("kuaiji", password="right-password", is_staff=True)
    client.post("/admin/login/?next=/admin/", {"username": "kuaiji", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    client.post("/admin/login/?next=/admin/", {"username": "kuaiji", "password": "right-password"})
    failed, success = PortalLogin.objects.order_by("pk")
    assert (failed.username, failed.outcome, failed.ip, failed.user) == ("kuaiji", "failed", "10.1.2.3", None)
    assert (success.outcome, success.user.username) == ("success", "kuaiji")
    assert "right-password" not in str(list(PortalLogin.objects.values()))


def test_portal_logins_are_listed_read_only_in_the_admin(admin_client):
    page = admin_client.get("/admin/portal/portallogin/").content.decode()
    assert "门户登录记录" in page and "admin" in page
    assert admin_client.get("/admin/portal/portallogin/add/").status_code == 403


def aged(model, field, days, **fields):
    row = model.objects.create(**fields)
    model.objects.filter(pk=row.pk).update(**{field: timezone.now() - timedelta(days=days)})
    return row


def test_prune_logs_deletes_logs_older_than_the_setting_and_never_the_ledger(settings):
    settings.LOG_RETENTION_DAYS = 183
    connection = Connection.objects.create(name="钉钉", kind="dingtalk", base_url="https://oapi.dingtalk.com/")
    scheme = Scheme.objects.create(name="报销", source_connection=connection, target_connection=connection)
    old_record = aged(SyncRecord, "updated_at", 400, scheme=scheme, source_key="i-old", status="succeeded")
    aged(PortalLogin, "created_at", 200, username="old", outcome="success")
    recent = aged(PortalLogin, "created_at", 100, username="recent", outcome="success")
    aged(LoginEvent, "created_at", 200, outcome="refused")
    aged(DingTalkEvent, "received_at", 200, connection=connection, record=old_record)
    aged(LogEntry, "action_time", 200, user=User.objects.create_user("it"), action_flag=2, object_repr="x")

    out = io.StringIO()
    call_command("prune_logs", "--dry-run", stdout=out)
    assert "would delete" in out.getvalue() and PortalLogin.objects.count() == 2
    call_command("prune_logs", stdout=out)

    assert list(PortalLogin.objects.all()) == [recent]
    assert not LoginEvent.objects.exists() and not DingTalkEvent.objects.exists() and not LogEntry.objects.exists()
    assert SyncRecord.objects.get() == old_record
    assert "portal.PortalLogin 1" in out.getvalue()


def test_logs_are_kept_six_months_unless_configured():
    """The default comes from settings, not from a test: a fresh process without LOG_RETENTION_DAYS keeps 183 days."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if key != "LOG_RETENTION_DAYS"}
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    script = "from django.conf import settings; print(settings.LOG_RETENTION_DAYS)"
    days = subprocess.run([sys.executable, "-c", script],
                          cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, check=True).stdout
    assert int(days) == 183  # about six months, as seed 000 asks


def test_prune_logs_by_default_keeps_five_months_and_deletes_seven(settings):
    settings.LOG_RETENTION_DAYS = 183
    kept = aged(PortalLogin, "created_at", 150, username="may", outcome="success")
    aged(PortalLogin, "created_at", 210, username="march", outcome="failure")
    out = io.StringIO()
    call_command("prune_logs", stdout=out)
    assert list(PortalLogin.objects.all()) == [kept] and "older than 183 days" in out.getvalue()
