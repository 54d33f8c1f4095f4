"""How DingTalkClient maps DingTalk's answers onto the error hierarchy (reference §2.4, §8, §9)."""

import pytest
import responses

from integrations.clients.dingtalk import DingTalkClient
from integrations.clients.errors import (
    AuthError, BusinessError, ConfigurationError, QuotaExceededError, ThrottledError, TransientError,
)

OAPI = "https://oapi.dingtalk.com/"
API = "https://api.dingtalk.com/"


@pytest.fixture
def client(db):
    from django.core.cache import cache

    cache.clear()
    return DingTalkClient(base_url=OAPI, api_base_url=API, app_key="dingkey", app_secret="secret", agent_id="1",
                          corp_id="dingcorp", name="errors")


@pytest.fixture
def remote():
    with responses.RequestsMock() as mock:
        mock.post(API + "v1.0/oauth2/accessToken", json={"accessToken": "t1", "expireIn": 7200})
        yield mock


def oapi_answer(remote, body, times=1):
    for _ in range(times):
        remote.post(OAPI + "topapi/v2/user/get", json=body)


@pytest.mark.parametrize("body, error_class, code, message", [
    ({"errcode": 90018, "errmsg": "QPS超限"}, ThrottledError, 90018, "QPS超限"),
    ({"errcode": 88, "sub_code": "90002", "sub_msg": "请求总次数超过了 100 次"}, ThrottledError, 90002,
     "请求总次数超过了 100 次"),
    ({"errcode": 90020, "errmsg": "月调用量超限"}, QuotaExceededError, 90020, "月调用量超限"),
    ({"errcode": -1, "errmsg": "系统繁忙"}, TransientError, -1, "系统繁忙"),
    ({"errcode": 15, "errmsg": "Remote service error"}, TransientError, 15, "Remote service error"),
    ({"errcode": 88, "sub_code": "", "errmsg": "ding talk error"}, TransientError, 88, "ding talk error"),
    ({"errcode": 60011, "errmsg": "没有调用该接口的权限"}, ConfigurationError, 60011, "没有调用该接口的权限"),
    ({"errcode": 60121, "errmsg": "找不到该用户"}, BusinessError, 60121, "找不到该用户"),
    ({"errcode": "33012", "errmsg": "无效的USERID"}, BusinessError, 33012, "无效的USERID"),
])
def test_old_api_errors_arrive_with_http_200_and_are_classified(client, remote, body, error_class, code, message):
    oapi_answer(remote, body, times=error_class.retryable and client.attempts or 1)
    with pytest.raises(error_class) as caught:
        client.get_user("u1")
    assert type(caught.value) is error_class
    assert (caught.value.code, caught.value.message) == (code, message)


def test_a_quota_error_is_not_retried(client, remote):
    oapi_answer(remote, {"errcode": 90020, "errmsg": "月调用量超限"})
    with pytest.raises(QuotaExceededError):
        client.get_user("u1")
    assert client.calls["/topapi/v2/user/get"] == 1


@pytest.mark.parametrize("body", [
    {"errcode": 88, "sub_code": "40014", "sub_msg": "不合法的access_token", "errmsg": "ding talk error"},
    {"errcode": 42001, "errmsg": "access_token超时"},
    {"errcode": 40014, "errmsg": "不合法的access_token"},
])
def test_a_token_error_refreshes_the_token_once_and_repeats_the_call(client, remote, body):
    oapi_answer(remote, body)
    oapi_answer(remote, {"errcode": 0, "result": {"userid": "u1"}})
    assert client.get_user("u1") == {"userid": "u1"}
    token_calls = [c for c in remote.calls if c.request.url.endswith("accessToken")]
    assert len(token_calls) == 2


def test_a_token_refused_twice_is_an_auth_error(client, remote):
    oapi_answer(remote, {"errcode": 88, "sub_code": "40014", "sub_msg": "不合法的access_token"}, times=2)
    with pytest.raises(AuthError):
        client.get_user("u1")


@pytest.mark.parametrize("status, code, error_class", [
    (400, "InvalidAuthentication", AuthError),
    (403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", ThrottledError),
    (403, "Forbidden.AccessDenied.QpsLimitForApi", ThrottledError),
    (403, "Forbidden.AccessDenied.ApiCountLimitForOrg", QuotaExceededError),
    (403, "Forbidden.AccessDenied.AccessTokenPermissionDenied", ConfigurationError),
    (400, "processInstanceNotExist", BusinessError),
    (500, "systemError", TransientError),
    (429, "systemBusy", ThrottledError),
])
def test_v1_errors_are_classified_by_code(client, remote, status, code, error_class):
    times = client.attempts if error_class.retryable else 2 if error_class is AuthError else 1
    for _ in range(times):
        remote.get(API + "v1.0/workflow/processInstances", status=status,
                   json={"requestid": "R", "code": code, "message": "钉钉的原话"})
    with pytest.raises(error_class) as caught:
        client.get_instance("i1")
    assert caught.value.message == "钉钉的原话"


def test_bad_app_credentials_are_a_configuration_error(db):
    with responses.RequestsMock() as remote:
        remote.get(OAPI + "gettoken", json={"errcode": 40096, "errmsg": "不合法的appKey或appSecret"})
        client = DingTalkClient(base_url=OAPI, api_base_url=API, app_key="k", app_secret="s",
                                legacy_approvals=True, name="bad")
        with pytest.raises(ConfigurationError, match="不合法的appKey或appSecret"):
            client.get_access_token(force=True)


def test_an_external_contact_is_not_a_member(client, remote):
    remote.post(OAPI + "topapi/user/getbyunionid", json={"errcode": 0, "result": {"contact_type": 1, "userid": "x"}})
    with pytest.raises(BusinessError, match="external contact"):
        client.userid_by_unionid("union1")


def test_the_rate_limit_is_per_api_path_and_slightly_under_the_quota(client):
    throttled = DingTalkClient(base_url=OAPI, api_base_url=API, app_key="k", app_secret="s", rate_limit=20, name="c")
    assert throttled.rate_limit == pytest.approx(19.2)
    assert throttled.limiter_key(API + "v1.0/workflow/processInstances") != throttled.limiter_key(
        OAPI + "topapi/v2/user/get")


def test_no_secret_or_token_reaches_the_log(client, remote, caplog):
    oapi_answer(remote, {"errcode": 0, "result": {"userid": "u1"}})
    with caplog.at_level("INFO", logger="integrations.clients"):
        client.get_user("u1")
    assert "secret" not in caplog.text and "t1" not in caplog.text and "/topapi/v2/user/get" in caplog.text
