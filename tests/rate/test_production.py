"""The production path: `check --deploy` fails without the dingtalk-jsapi bundle (or with a manifest collected
before it was built), and with the README's steps the SSO entry page loads the bundle from static files."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.core.checks.registry import registry
from django.core.management import call_command
from django.urls import reverse

from portal.checks import DINGTALK_BUNDLE, dingtalk_bundle_check

MANIFEST = {"STORAGES": {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}}


def deploy_errors():
    return {message.id for message in dingtalk_bundle_check(None)}


def test_the_bundle_check_runs_with_check_deploy_only():
    assert dingtalk_bundle_check in registry.get_checks(include_deployment_checks=True)
    assert dingtalk_bundle_check not in registry.get_checks()


def test_check_deploy_fails_without_the_bundle(monkeypatch):
    real_find = finders.find
    monkeypatch.setattr(finders, "find", lambda path, *a, **k: None if path == DINGTALK_BUNDLE else real_find(path))
    assert "portal.E010" in deploy_errors()


def test_check_deploy_fails_when_collectstatic_ran_before_the_bundle(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = MANIFEST["STORAGES"]
    (tmp_path / "staticfiles.json").write_text(json.dumps({"version": "1.1", "paths": {"admin/css/base.css":
                                                                                         "admin/css/base.1.css"}}))
    assert "portal.E011" in deploy_errors()


@pytest.mark.django_db
def test_after_collectstatic_the_sso_page_loads_the_bundle(settings, tmp_path, client):
    from integrations.models import Connection
    from sso.models import KingdeeSSOSettings

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = MANIFEST["STORAGES"]
    call_command("collectstatic", "--noinput", verbosity=0)
    assert "portal.E010" not in deploy_errors() and "portal.E011" not in deploy_errors()
    dingtalk = Connection.objects.create(name="钉钉应用", kind="dingtalk", base_url="https://oapi.dingtalk.com/",
                                         app_key="dingappkey0001", app_secret="secret", corp_id="dingcorp0001")
    kingdee = Connection.objects.create(name="金蝶云星空", kind="kingdee", base_url="http://k3.example.com/k3cloud/",
                                        acct_id="62f3c9b0aa1b2c", username="api", app_id="app", app_secret="secret")
    KingdeeSSOSettings.objects.create(kingdee=kingdee, dingtalk=dingtalk, app_id="sso-app",
                                      app_secret="0123456789abcdef0123456789abcdef", dbid="62f3c9b0aa1b2c")
    page = client.get(reverse("sso:dingtalk"), {"corpId": "dingcorp0001"})
    assert page.status_code == 200
    assert "sso/vendor/dingtalk-jsapi." in page.content.decode() and ".js" in page.content.decode()
