"""Logins, the session cookie and its 20-minute sliding expiry, lost sessions, the three envelopes (reference §2.3, §3)."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import protocol
from sandbox.kingdee.models import KingdeeSession, ThirdPartyApp
from tests.sandbox_kingdee.fixtures import SERVICE

pytestmark = pytest.mark.django_db
LOST = {"Result": {"ResponseStatus": {
    "ErrorCode": 500, "IsSuccess": False, "Errors": [{"FieldName": None, "Message": "会话信息已丢失，请重新登录", "DIndex": 0}],
    "SuccessEntitys": [], "SuccessMessages": [], "MsgCode": 1}}}
CURRENCY_QUERY = {"data": {"FormId": "BD_Currency", "FieldKeys": "FNumber", "FilterString": "FNumber='PRE001'"}}


def test_validate_user_opens_a_session_and_sets_both_cookies(webapi, creds, client):
    result = webapi.login(creds["kingdee"])

    assert result["LoginResultType"] == 1 and result["IsSuccessByAPI"] is True
    assert result["Context"]["UserName"] == "demo" and result["Context"]["DBid"] == creds["kingdee"]["acct_id"]
    assert client.cookies["kdservice-sessionid"].value == result["KDSVCSessionId"]
    assert client.cookies["ASP.NET_SessionId"].value
    assert webapi.post("DynamicFormService.ExecuteBillQuery", CURRENCY_QUERY) == [["PRE001"]]


def test_a_wrong_password_is_refused_without_a_session(webapi, creds):
    result = webapi.login({**creds["kingdee"], "password": "123"})

    assert (result["LoginResultType"], result["Message"], result["KDSVCSessionId"]) == (0, "用户名或密码错误！", None)


def test_validate_user_accepts_the_positional_envelope_and_form_fields(client, creds):
    k = creds["kingdee"]
    positional = client.post(SERVICE.format("AuthService.ValidateUser"),
                             data=json.dumps({"parameters": [k["acct_id"], "demo", k["password"], 2052]}),
                             content_type="application/json").json()
    form = client.post(SERVICE.format("AuthService.ValidateUser"),
                       {"acctID": k["acct_id"], "username": "demo", "password": k["password"], "lcid": "2052"}).json()

    assert positional["LoginResultType"] == form["LoginResultType"] == 1


def test_login_by_app_secret_checks_the_secret(webapi, creds):
    k = creds["kingdee"]
    body = {"acctID": k["acct_id"], "username": "demo", "appId": k["app_id"], "appSecret": k["app_secret"], "lcid": 2052}

    assert webapi.post("AuthService.LoginByAppSecret", body)["LoginResultType"] == 1
    wrong = webapi.post("AuthService.LoginByAppSecret", {**body, "appSecret": "x"})
    assert wrong["LoginResultType"] == -1 and wrong["KDSVCSessionId"] is None


@pytest.mark.parametrize("algorithm", ["sha256", "sha1"])
def test_login_by_sign_checks_the_signature_with_the_apps_algorithm(webapi, creds, algorithm):
    k = creds["kingdee"]
    ThirdPartyApp.objects.filter(app_id=k["app_id"]).update(algorithm=algorithm)
    timestamp = str(int(time.time()))
    sign = protocol.kingdee_signeddata(k["acct_id"], "demo", k["app_id"], k["app_secret"], timestamp, algorithm)
    positional = [k["acct_id"], "demo", k["app_id"], timestamp, sign, 2052]

    assert webapi.post("AuthService.LoginBySign", {"parameters": positional})["LoginResultType"] == 1
    forged = positional[:4] + [sign[:-1] + ("0" if sign[-1] != "0" else "1"), 2052]
    assert webapi.post("AuthService.LoginBySign", {"parameters": forged})["LoginResultType"] == -1


def test_without_a_session_business_calls_answer_session_lost(webapi):
    save = webapi.post("DynamicFormService.Save", {"formid": "AP_PAYBILL", "data": {"Model": {}}})
    query = webapi.post("DynamicFormService.ExecuteBillQuery", CURRENCY_QUERY)
    bill_query = webapi.post("DynamicFormService.BillQuery", CURRENCY_QUERY)

    assert save == LOST and bill_query == LOST
    assert query == [[LOST]]


@pytest.mark.parametrize("header", ["kdservice-sessionid", "SID"])
def test_the_session_id_may_come_in_a_header_instead_of_the_cookie(webapi, creds, client, header):
    session_id = webapi.login(creds["kingdee"])["KDSVCSessionId"]
    client.cookies.clear()

    assert webapi.post("DynamicFormService.ExecuteBillQuery", CURRENCY_QUERY, **{header: session_id}) == [["PRE001"]]


def test_a_session_expires_after_twenty_idle_minutes(api):
    KingdeeSession.objects.update(last_seen=timezone.now() - timedelta(minutes=21))

    assert api.post("DynamicFormService.ExecuteBillQuery", CURRENCY_QUERY) == [[LOST]]


def test_every_call_restarts_the_session_clock(api):
    KingdeeSession.objects.update(last_seen=timezone.now() - timedelta(minutes=19))

    assert api.post("DynamicFormService.ExecuteBillQuery", CURRENCY_QUERY) == [["PRE001"]]
    assert timezone.now() - KingdeeSession.objects.get().last_seen < timedelta(minutes=1)


def test_logout_ends_the_session(api):
    assert api.post("AuthService.Logout", {}) is True
    assert api.post("DynamicFormService.ExecuteBillQuery", CURRENCY_QUERY) == [[LOST]]


def test_every_envelope_and_data_as_a_json_string_is_accepted(api, client):
    data = json.dumps(CURRENCY_QUERY["data"])
    bodies = [{"data": data}, {"DATA": CURRENCY_QUERY["data"]}, {"parameters": [data]}, {"parameters": json.dumps([data])},
              {"format": 1, "useragent": "ApiClient", "rid": "1", "parameters": [data], "timestamp": "x", "v": "1.0"}]
    for body in bodies:
        answer = client.post("/sandbox/kingdee/kingdee.bos.webapi.servicesstub.dynamicformservice.executebillquery"
                             ".common.kdsvc", data=json.dumps(body), content_type="application/json").json()
        assert answer == [["PRE001"]], body


def test_a_malformed_body_is_a_parameter_error(api, client):
    answer = client.post(SERVICE.format("DynamicFormService.Save"), data="{not json",
                         content_type="application/json").json()

    assert answer["Result"]["ResponseStatus"]["MsgCode"] == 8


def test_the_data_centre_list_names_the_seeded_centre(webapi, creds):
    answer = webapi.client.post("/sandbox/kingdee/Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService."
                                "GetDataCenterList.common.kdsvc", data="{}", content_type="application/json").json()

    assert [centre["Id"] for centre in answer] == [creds["kingdee"]["acct_id"]]


def test_a_zero_link_validity_refuses_every_signed_request(creds, client):
    k = creds["kingdee"]
    ThirdPartyApp.objects.filter(app_id=k["app_id"]).update(validity_seconds=0)
    url = "http://testserver" + SERVICE.format("DynamicFormService.ExecuteBillQuery")
    headers = protocol.kingdee_headers(url, k["acct_id"], "demo", k["app_id"], k["app_secret"], 2052, 0,
                                       int(time.time()))

    answer = client.post(url, data=json.dumps(CURRENCY_QUERY), content_type="application/json", headers=headers)

    assert answer.json() == [[LOST]]
