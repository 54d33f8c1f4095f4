import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from integrations.models import Connection
from integrations.checks import undecryptable_secrets_check

OLD = "old-key-0123456789abcdef0123456789abcdef"
NEW = "new-key-fedcba9876543210fedcba9876543210"


@pytest.fixture
def dingtalk_written_with_old_key(db, settings):
    settings.FERNET_KEYS = [OLD]
    return Connection.objects.create(
        name="钉钉应用", kind="dingtalk", base_url="https://oapi.dingtalk.com/", api_base_url="https://api.dingtalk.com/",
        app_key="dingappkey", app_secret="dingtalk-app-secret-value", corp_id="ding123",
    )


def test_rows_written_under_the_old_key_read_under_new_and_old(dingtalk_written_with_old_key, settings):
    settings.FERNET_KEYS = [NEW, OLD]
    assert Connection.objects.get(pk=dingtalk_written_with_old_key.pk).app_secret == "dingtalk-app-secret-value"


def test_after_reencrypting_rows_read_under_the_new_key_alone(dingtalk_written_with_old_key, settings):
    settings.FERNET_KEYS = [NEW, OLD]
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "Re-encrypted 1 secret values in 1 rows" in out.getvalue()
    settings.FERNET_KEYS = [NEW]
    assert Connection.objects.get(pk=dingtalk_written_with_old_key.pk).app_secret == "dingtalk-app-secret-value"


def test_a_lost_key_gives_a_message_naming_the_connection_not_a_500(dingtalk_written_with_old_key, settings,
                                                                      admin_client):
    settings.FERNET_KEYS = [NEW]
    changelist = admin_client.get(reverse("admin:integrations_connection_changelist"))
    assert changelist.status_code == 200
    page = admin_client.get(reverse("admin:integrations_connection_change", args=[dingtalk_written_with_old_key.pk]))
    assert page.status_code == 200
    assert "连接“钉钉应用”" in page.content.decode() and "FERNET_KEYS" in page.content.decode()


def test_saving_without_reentering_a_lost_secret_asks_for_it(dingtalk_written_with_old_key, settings, admin_client):
    settings.FERNET_KEYS = [NEW]
    url = reverse("admin:integrations_connection_change", args=[dingtalk_written_with_old_key.pk])
    data = {"name": "钉钉应用", "kind": "dingtalk", "enabled": "on", "base_url": "https://oapi.dingtalk.com/",
            "api_base_url": "https://api.dingtalk.com/", "app_key": "dingappkey", "corp_id": "ding123",
            "app_secret": "", "callback_receiver": "app_key", "max_concurrency": "4", "connect_timeout": "5",
            "read_timeout": "60", "rate_limit": "", "robot_token": "", "robot_secret": "", "callback_token": "",
            "callback_aes_key": ""}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "密钥已丢失" in response.content.decode()
    response = admin_client.post(url, {**data, "app_secret": "re-entered-secret"})
    assert response.status_code == 302
    assert Connection.objects.get(pk=dingtalk_written_with_old_key.pk).app_secret == "re-entered-secret"


def test_system_check_warns_about_a_lost_key(dingtalk_written_with_old_key, settings):
    settings.FERNET_KEYS = [NEW]
    warnings = undecryptable_secrets_check(None)
    assert [w.id for w in warnings] == ["portal.W001"]
    assert "钉钉应用" in warnings[0].msg


def test_reencrypt_reports_rows_no_key_can_read(dingtalk_written_with_old_key, settings):
    settings.FERNET_KEYS = [NEW]
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reencrypt_secrets", stdout=io.StringIO(), stderr=err)
    assert "钉钉应用" in err.getvalue()
