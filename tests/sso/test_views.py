"""The SSO doors with an in-process DingTalk: who gets a Kingdee link, who gets the refusal page."""

import base64
import ipaddress
import json
import secrets
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.urls import reverse

from integrations.protocol import kingdee_signeddata
from sso import login
from sso.models import IdentityMap, LoginEvent
from tests.sso.conftest import CORP_ID, KINGDEE_BASE
from tests.sso.fakes import FakeDingTalk

pytestmark = pytest.mark.django_db
LOGIN = reverse("sso:dingtalk_login")


@pytest.fixture
def dingtalk(monkeypatch, sso_settings):
    fake = FakeDingTalk(CORP_ID)
    fake.add("user001", "张三")
    fake.add("user404", "无映射")
    monkeypatch.setattr(login, "dingtalk", lambda sso: fake)
    return fake


def ud_of(response):
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{KINGDEE_BASE}html5/index.aspx?ud=")
    ud = unquote(parse_qs(urlsplit(location).query, keep_blank_values=True)["ud"][0])
    return json.loads(base64.b64decode(ud).decode("utf-8"))


def test_a_mapped_user_is_redirected_to_a_correctly_signed_kingdee_link(client, dingtalk, mapped, sso_settings):
    response = client.get(LOGIN, {"code": dingtalk.code_for("user001"), "corpId": CORP_ID},
                          HTTP_USER_AGENT="DingTalk/7.6", REMOTE_ADDR="10.1.2.3")
    args = ud_of(response)
    assert args["username"] == "张三" and args["dbid"] == sso_settings.dbid and args["appid"] == sso_settings.app_id
    assert args["otherargs"] == "|{'permitcount':'1'}"
    expected = kingdee_signeddata(args["dbid"], "张三", args["appid"], sso_settings.app_secret, args["timestamp"])
    assert args["signeddata"] == expected
    event = LoginEvent.objects.get()
    assert (event.outcome, event.dingtalk_userid, event.kingdee_username, event.name) == ("success", "user001", "张三",
                                                                                         "张三")
    assert (event.ip, event.user_agent, event.flow) == ("10.1.2.3", "DingTalk/7.6", "in_client")


def test_the_page_can_post_the_code_instead(client, dingtalk, mapped):
    response = client.post(LOGIN, {"code": dingtalk.code_for("user001"), "corpId": CORP_ID})
    assert ud_of(response)["username"] == "张三"


def test_sha1_and_reusable_links_follow_the_settings(client, dingtalk, mapped, sso_settings):
    sso_settings.algorithm, sso_settings.link_mode = "sha1", "reusable"
    sso_settings.save()
    args = ud_of(client.get(LOGIN, {"code": dingtalk.code_for("user001")}))
    assert len(args["signeddata"]) == 40 and args["otherargs"] == "|{'permitcount':'0'}"


def refused(response, reason, status=403):
    assert response.status_code == status
    event = LoginEvent.objects.latest("created_at")
    assert (event.outcome, event.reason) == ("refused", reason)
    page = response.content.decode()
    assert event.reference in page and 'id="sso-refused"' in page
    return page, event


def test_an_unmapped_user_gets_the_refusal_page_with_a_reference(client, dingtalk):
    code = dingtalk.code_for("user404")
    page, event = refused(client.get(LOGIN, {"code": code, "corpId": CORP_ID}), "unmapped")
    assert event.dingtalk_userid == "user404" and code not in page and "user404" not in page


def test_a_disabled_mapping_is_refused(client, dingtalk, mapped):
    IdentityMap.objects.filter(pk=mapped.pk).update(active=False)
    refused(client.get(LOGIN, {"code": dingtalk.code_for("user001")}), "disabled")


def test_a_mapping_without_a_kingdee_user_is_refused_as_unmapped(client, dingtalk, mapped):
    IdentityMap.objects.filter(pk=mapped.pk).update(kingdee_username="")
    refused(client.get(LOGIN, {"code": dingtalk.code_for("user001")}), "unmapped")


def test_a_replayed_code_is_refused_the_second_time(client, dingtalk, mapped):
    code = dingtalk.code_for("user001")
    assert client.get(LOGIN, {"code": code}).status_code == 302
    page, event = refused(client.get(LOGIN, {"code": code}), "code_rejected")
    assert "40078" in event.detail and "40078" not in page


def test_a_missing_code_is_refused(client, dingtalk):
    refused(client.get(LOGIN, {"corpId": CORP_ID}), "missing_code")


def test_an_unknown_organisation_is_refused_as_not_configured(client, dingtalk):
    refused(client.get(LOGIN, {"code": "x", "corpId": "dingsomeoneelse"}), "not_configured", 503)


def test_nothing_configured_is_refused_without_calling_dingtalk(client, db):
    refused(client.get(LOGIN, {"code": "x"}), "not_configured", 503)


def test_disabled_settings_count_as_not_configured(client, dingtalk, sso_settings):
    sso_settings.enabled = False
    sso_settings.save()
    refused(client.get(LOGIN, {"code": dingtalk.code_for("user001")}), "not_configured", 503)


def test_an_allowed_deep_link_opens_that_form(client, dingtalk, mapped):
    args = ud_of(client.get(LOGIN, {"code": dingtalk.code_for("user001"), "form": "ap_paybill"}))
    assert (args["formid"], args["formtype"]) == ("AP_PAYBILL", "list")


def test_a_deep_link_to_a_form_not_allowed_is_refused(client, dingtalk, mapped):
    refused(client.get(LOGIN, {"code": dingtalk.code_for("user001"), "form": "BD_Empinfo"}), "form_not_allowed")


def test_the_workbench_page_loads_the_jsapi_bundle_and_names_the_organisation(client, sso_settings):
    response = client.get(reverse("sso:dingtalk"), {"corpId": CORP_ID})
    page = response.content.decode()
    assert response.status_code == 200
    assert "sso/vendor/dingtalk-jsapi.js" in page and "sso/dingtalk-login.js" in page
    assert f'data-corp-id="{CORP_ID}"' in page and 'data-client-id="dingappkey0001"' in page
    assert "client/dd.js" not in page  # the sandbox shim only for sandbox connections
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_refusal_page_speaks_chinese_by_default(client, dingtalk):
    response = client.get(LOGIN, {"code": dingtalk.code_for("user404")})
    assert "参考编号" in response.content.decode()


def fresh_ip():
    """Counters live in the shared cache (Redis keeps them between runs): every test gets unused addresses."""
    return str(ipaddress.ip_address(f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"))


def test_the_rate_limit_refuses_an_address_after_its_quota_and_logs_once(client, settings, dingtalk, mapped):
    settings.SSO_RATE_LIMIT = (3, 60)
    address = {"REMOTE_ADDR": fresh_ip()}
    answers = [client.get(LOGIN, {"code": dingtalk.code_for("user001")}, **address).status_code for _ in range(6)]
    assert answers == [302, 302, 302, 429, 429, 429]
    assert LoginEvent.objects.filter(reason="rate_limited").count() == 1
    assert client.get(LOGIN, {"code": dingtalk.code_for("user001")}, REMOTE_ADDR=fresh_ip()).status_code == 302


def test_login_accepts_only_get_and_post(client, dingtalk):
    assert client.put(LOGIN).status_code == 405


def test_an_address_that_is_not_an_ip_is_recorded_as_unknown(client, dingtalk, mapped):
    client.get(LOGIN, {"code": dingtalk.code_for("user001")}, REMOTE_ADDR="unix:/run/gunicorn.sock")
    assert LoginEvent.objects.get().ip is None


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited_and_recorded(client, settings, dingtalk, mapped):
    settings.SSO_RATE_LIMIT, settings.SSO_TRUSTED_PROXIES = (2, 60), ["10.0.0.1"]
    proxied = {"REMOTE_ADDR": "10.0.0.1"}
    employees = [fresh_ip() for _ in range(3)]
    for employee in employees:
        forwarded = {**proxied, "HTTP_X_FORWARDED_FOR": f"6.6.6.6, {employee}"}  # the left part is the client's
        assert client.get(LOGIN, {"code": dingtalk.code_for("user001")}, **forwarded).status_code == 302
    assert set(LoginEvent.objects.values_list("ip", flat=True)) == set(employees)
    spoofed = {"REMOTE_ADDR": fresh_ip(), "HTTP_X_FORWARDED_FOR": fresh_ip()}  # not from the proxy
    for _ in range(2):
        client.get(LOGIN, {"code": dingtalk.code_for("user001")}, **spoofed)
    assert client.get(LOGIN, {"code": dingtalk.code_for("user001")}, **spoofed).status_code == 429
