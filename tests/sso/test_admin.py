"""The SSO settings page: write-only secret, validated deep-link forms, the workbench URL to paste."""

import pytest
from django.urls import reverse

from sso.models import KingdeeSSOSettings

pytestmark = pytest.mark.django_db


def form_data(kingdee, dingtalk, **changes):
    return {"kingdee": kingdee.pk, "dingtalk": dingtalk.pk, "enabled": "on", "app_id": "230001_sso", "app_secret": "",
            "dbid": "62f3c9b0aa1b2c", "lcid": "2052", "algorithm": "sha256", "link_mode": "single_use",
            "allowed_forms": "AP_PAYBILL:list", **changes}


def test_it_adds_settings_with_a_secret_that_is_stored_encrypted(it_client, kingdee_connection, dingtalk_connection):
    data = form_data(kingdee_connection, dingtalk_connection, app_secret="s3cret-value-123")
    response = it_client.post(reverse("admin:sso_kingdeessosettings_add"), data)
    assert response.status_code == 302
    assert KingdeeSSOSettings.objects.get().app_secret == "s3cret-value-123"


def test_saving_with_the_secret_left_empty_keeps_it(it_client, sso_settings, kingdee_connection, dingtalk_connection):
    url = reverse("admin:sso_kingdeessosettings_change", args=[sso_settings.pk])
    assert it_client.post(url, form_data(kingdee_connection, dingtalk_connection, lcid="1033")).status_code == 302
    sso_settings.refresh_from_db()
    assert sso_settings.lcid == 1033 and sso_settings.app_secret == "0123456789abcdef0123456789abcdef"


def test_settings_without_a_secret_are_refused(it_client, kingdee_connection, dingtalk_connection):
    response = it_client.post(reverse("admin:sso_kingdeessosettings_add"),
                              form_data(kingdee_connection, dingtalk_connection))
    assert response.status_code == 200 and not KingdeeSSOSettings.objects.exists()


def test_a_deep_link_line_that_is_not_a_form_id_is_refused(it_client, kingdee_connection, dingtalk_connection):
    data = form_data(kingdee_connection, dingtalk_connection, app_secret="x" * 12,
                     allowed_forms="AP_PAYBILL\nhttps://evil.example/")
    response = it_client.post(reverse("admin:sso_kingdeessosettings_add"), data)
    assert response.status_code == 200 and "https://evil.example/" in response.context["adminform"].form.errors[
        "allowed_forms"][0]


def test_the_connections_must_be_of_the_right_kind(it_client, kingdee_connection, dingtalk_connection):
    data = form_data(dingtalk_connection, kingdee_connection, app_secret="x" * 12)
    assert it_client.post(reverse("admin:sso_kingdeessosettings_add"), data).status_code == 200
    assert not KingdeeSSOSettings.objects.exists()


def test_the_change_page_shows_the_workbench_home_page_url(it_client, sso_settings):
    page = it_client.get(reverse("admin:sso_kingdeessosettings_change", args=[sso_settings.pk])).content.decode()
    assert "/sso/dingtalk/?corpId=$CORPID$" in page
