import json
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.dingtalk.models import AuthCode, Employee

pytestmark = pytest.mark.django_db
BASE = "/sandbox/dingtalk/"


@pytest.fixture
def token(client, seeded):
    app = seeded["dingtalk"]
    return client.get(BASE + "gettoken", {"appkey": app["app_key"], "appsecret": app["app_secret"]}).json()[
        "access_token"]


def getuserinfo(client, token, code):
    return client.post(f"{BASE}topapi/v2/user/getuserinfo?access_token={token}", {"code": code},
                       content_type="application/json").json()


def test_an_auth_code_is_single_use(client, token):
    person = Employee.objects.first()
    code = client.get(BASE + "sso/authcode", {"userid": person.userid}).json()["code"]
    assert getuserinfo(client, token, code)["result"]["userid"] == person.userid
    again = getuserinfo(client, token, code)
    assert (again["errcode"], again["errmsg"]) == (40078, "不存在的临时授权码")


def test_an_auth_code_lives_five_minutes(client, token):
    code = client.get(BASE + "sso/authcode", {"userid": Employee.objects.first().userid}).json()["code"]
    AuthCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert getuserinfo(client, token, code)["errcode"] == 40078


def test_the_client_page_remembers_the_chosen_employee(client, seeded):
    person = Employee.objects.first()
    page = client.post(BASE + "client/", {"userid": person.userid, "url": "/sso/dingtalk/?corpId=$CORPID$",
                                          "target": "frame"})
    assert page.status_code == 200 and f'/sso/dingtalk/?corpId={seeded["dingtalk"]["corp_id"]}' in page.text
    assert client.cookies["dd_sandbox_userid"].value == person.userid
    assert client.get(BASE + "sso/authcode").status_code == 200  # the cookie names the person
    top = client.post(BASE + "client/", {"userid": person.userid, "url": "/sso/dingtalk/", "target": "top"})
    assert top.status_code == 302 and top["Location"] == "/sso/dingtalk/"


def test_authcode_refuses_an_unknown_person_or_organisation(client, seeded):
    assert client.get(BASE + "sso/authcode", {"userid": "nobody"}).status_code == 404
    person = Employee.objects.first()
    assert client.get(BASE + "sso/authcode", {"userid": person.userid, "corpId": "dingother"}).status_code == 400


def test_the_oauth2_page_lets_a_person_choose_and_redirects_with_both_code_names(client, seeded):
    app = seeded["dingtalk"]
    params = {"redirect_uri": "http://portal.test/sso/back?x=1", "response_type": "code",
              "client_id": app["app_key"], "scope": "openid corpid", "state": "s1", "prompt": "consent"}
    page = client.get(BASE + "oauth2/auth", params)
    assert page.status_code == 200 and Employee.objects.first().name in page.text
    answer = client.post(BASE + "oauth2/auth", {**params, "userid": Employee.objects.first().userid})
    location = answer["Location"]
    code = location.split("&code=")[1].split("&")[0]
    assert location.startswith("http://portal.test/sso/back?x=1&") and f"authCode={code}" in location
    assert location.endswith("state=s1")
    assert client.get(BASE + "oauth2/auth", {**params, "client_id": "nope"}).status_code == 400


def test_a_user_token_reads_the_current_user(client, seeded):
    app, person = seeded["dingtalk"], Employee.objects.first()
    location = client.get(BASE + "oauth2/auth", {"redirect_uri": "http://x.test/", "response_type": "code",
                                                 "client_id": app["app_key"], "userid": person.userid})["Location"]
    code = location.split("code=")[1].split("&")[0]
    body = {"clientId": app["app_key"], "clientSecret": app["app_secret"], "code": code,
            "grantType": "authorization_code"}
    token = client.post(BASE + "v1.0/oauth2/userAccessToken", body, content_type="application/json").json()
    me = client.get(BASE + "v1.0/contact/users/me", HTTP_X_ACS_DINGTALK_ACCESS_TOKEN=token["accessToken"]).json()
    assert me["unionId"] == person.unionid and me["nick"] == person.name and token["corpId"] == app["corp_id"]
    reused = client.post(BASE + "v1.0/oauth2/userAccessToken", body, content_type="application/json")
    assert reused.status_code == 400


@pytest.mark.skipif(not shutil.which("node"), reason="needs node to run the JSAPI shim")
def test_the_jsapi_shim_obtains_a_code_for_the_logged_in_person(client, token):
    person = Employee.objects.first()
    shim = client.get(BASE + "client/dd.js").content.decode()
    code = client.get(BASE + "sso/authcode", {"userid": person.userid}).json()["code"]
    # A fake page: the cookie names the person, fetch answers like sso/authcode does.
    script = f"""
    globalThis.window = globalThis;
    globalThis.location = {{search: "?corpId=ding1"}};
    globalThis.document = {{cookie: "other=1; dd_sandbox_userid={person.userid}"}};
    globalThis.fetch = (url) => Promise.resolve({{ok: url.includes("userid={person.userid}"),
                                                 json: () => Promise.resolve({{code: "{code}"}})}});
    {shim}
    dd.ready(() => dd.runtime.permission.requestAuthCode({{corpId: "ding1",
      onSuccess: (r) => console.log(JSON.stringify({{platform: dd.env.platform, code: r.code}}))}}));
    """
    output = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=20, check=True)
    assert json.loads(output.stdout) == {"platform": "pc", "code": code}
    assert getuserinfo(client, token, code)["result"]["userid"] == person.userid


def test_the_client_page_speaks_chinese_by_default(client, seeded):
    page = client.get(BASE + "client/")
    assert "钉钉客户端" in page.text and "当前登录员工" in page.text
