"""A lost encryption key is reported as a lost key wherever a secret is needed: the SSO page (for IT's log),
DingTalk's callback, and any run that would use the connection; never as "not set up", a 404 or a success."""

import pytest
from django.urls import reverse
from django.utils import translation

from integrations import engine, reasons
from integrations.models import Connection, DingTalkEvent, Scheme, SyncRun, Trigger
from sso.models import KingdeeSSOSettings, LoginEvent

OLD = "old-key-0123456789abcdef0123456789abcdef"
NEW = "new-key-fedcba9876543210fedcba9876543210"
CORP_ID = "dingcorp0001"

pytestmark = pytest.mark.django_db


@pytest.fixture
def written_with_the_lost_key(settings):
    settings.FERNET_KEYS = [OLD]
    dingtalk = Connection.objects.create(
        name="钉钉应用", kind="dingtalk", base_url="https://oapi.dingtalk.com/",
        api_base_url="https://api.dingtalk.com/", app_key="dingappkey0001", app_secret="ding-app-secret-0001",
        corp_id=CORP_ID, callback_token="callback-token", callback_aes_key="a" * 43)
    kingdee = Connection.objects.create(
        name="金蝶云星空", kind="kingdee", base_url="http://k3.example.com/k3cloud/", acct_id="62f3c9b0aa1b2c",
        username="api", app_id="230001_K3simAppSecretTestVector00000001", app_secret="kingdee-webapi-secret")
    KingdeeSSOSettings.objects.create(kingdee=kingdee, dingtalk=dingtalk, app_id="230001_K3simSsoApp",
                                      app_secret="0123456789abcdef0123456789abcdef", dbid="62f3c9b0aa1b2c")
    settings.FERNET_KEYS = [NEW]  # the old key is gone
    return dingtalk, kingdee


def test_the_sso_page_logs_a_lost_key_for_it(client, written_with_the_lost_key, settings):
    settings.SSO_RATE_LIMIT = (1000, 60)
    response = client.get(reverse("sso:dingtalk"), {"corpId": CORP_ID})
    assert response.status_code == 503
    page = response.content.decode()
    assert "暂时无法使用" in page and "尚未设置" not in page
    event = LoginEvent.objects.get()
    assert event.reason == LoginEvent.Reason.KEY_LOST and "FERNET_KEYS" in event.detail


def test_a_callback_is_refused_as_a_lost_key_and_recorded(client, written_with_the_lost_key):
    dingtalk, _kingdee = written_with_the_lost_key
    url = reverse("integrations:dingtalk_callback", args=[dingtalk.pk])
    response = client.post(url + "?signature=s&timestamp=1&nonce=n", {"encrypt": "x"}, content_type="application/json")
    assert response.status_code == 503
    event = DingTalkEvent.objects.get()
    assert event.outcome == DingTalkEvent.Outcome.REJECTED and "FERNET_KEYS" in event.reason


def test_a_run_on_a_connection_with_a_lost_key_fails_saying_so(written_with_the_lost_key):
    dingtalk, kingdee = written_with_the_lost_key
    scheme = Scheme.objects.create(name="报销", source_connection=dingtalk, target_connection=kingdee,
                                   source_kind="dingtalk.approval", source_params={"process_code": "PROC-1"},
                                   target_kind="kingdee.save", target_params={"form_id": "AP_PAYBILL"})
    run = engine.run_scheme(scheme.pk, trigger=Trigger.MANUAL)
    assert run.status == SyncRun.Status.FAILED
    with translation.override("zh-hans"):  # the run stores a code; its reader sees the field's Chinese name
        assert "钉钉应用" in reasons.describe_run(run) and "FERNET_KEYS" in reasons.describe_run(run)
