import pytest
from django.utils import timezone

from sandbox.dingtalk.models import AccessToken, SandboxSettings

pytestmark = pytest.mark.django_db
BASE = "/sandbox/dingtalk/"


def old_token(client, app):
    return client.get(BASE + "gettoken", {"appkey": app["app_key"], "appsecret": app["app_secret"]}).json()


def test_gettoken_wants_the_query_string(client, seeded):
    app = seeded["dingtalk"]
    answer = client.post(BASE + "gettoken", {"appkey": app["app_key"], "appsecret": app["app_secret"]})
    assert answer.status_code == 200 and answer.json()["errcode"] == 40035


def test_bad_credentials_get_each_familys_error(client, seeded):
    app = seeded["dingtalk"]
    assert client.get(BASE + "gettoken", {"appkey": app["app_key"], "appsecret": "x"}).json()["errcode"] == 40096
    answer = client.post(BASE + "v1.0/oauth2/accessToken", {"appKey": app["app_key"], "appSecret": "x"},
                         content_type="application/json")
    assert answer.status_code == 400 and answer.json()["code"] == "invalidClientIdOrSecret"


def test_the_same_token_comes_back_while_valid_from_both_endpoints(client, seeded):
    app = seeded["dingtalk"]
    first = old_token(client, app)
    new = client.post(BASE + "v1.0/oauth2/accessToken", {"appKey": app["app_key"], "appSecret": app["app_secret"]},
                      content_type="application/json").json()
    assert first["access_token"] == new["accessToken"] and first["expires_in"] == new["expireIn"] == 7200


def test_the_token_lifetime_is_a_setting(client, seeded):
    SandboxSettings.objects.update_or_create(pk=1, defaults={"token_ttl": 5})
    assert old_token(client, seeded["dingtalk"])["expires_in"] == 5


def test_an_expired_token_is_refused_in_each_familys_words(client, seeded):
    token = old_token(client, seeded["dingtalk"])["access_token"]
    AccessToken.objects.update(expires_at=timezone.now())
    old = client.post(BASE + "topapi/v2/department/get?access_token=" + token, {"dept_id": 1},
                      content_type="application/json").json()
    assert (old["errcode"], old["sub_code"], old["sub_msg"]) == (88, "40014", "不合法的access_token")
    new = client.get(BASE + "v1.0/workflow/processInstances", {"processInstanceId": "x"},
                     HTTP_X_ACS_DINGTALK_ACCESS_TOKEN=token)
    assert new.status_code == 400 and new.json()["code"] == "InvalidAuthentication"
    SandboxSettings.objects.update_or_create(pk=1, defaults={"token_error_style": "42001"})
    old = client.post(BASE + "topapi/v2/department/get?access_token=" + token, {"dept_id": 1},
                      content_type="application/json").json()
    assert old["errcode"] == 42001


def test_v1_wants_the_token_in_its_header(client, seeded):
    token = old_token(client, seeded["dingtalk"])["access_token"]
    answer = client.get(BASE + "v1.0/workflow/processInstances", {"processInstanceId": "x", "access_token": token})
    assert answer.status_code == 400 and answer.json()["code"] == "AuthenticationFailed.MissingParameter"
    blank = client.post(BASE + "topapi/v2/department/get", {"dept_id": 1}, content_type="application/json").json()
    assert (blank["errcode"], blank["sub_code"]) == (88, "40000")
