"""The official Python SDK (kingdee-cdp-webapi-sdk 8.2.0) works against the sandbox over real HTTP."""

import json
import re

import pytest
from k3cloud_webapi_sdk.main import K3CloudApiSdk

from sandbox.kingdee.models import FormRecord
from tests.sandbox_kingdee.payloads import paybill

pytestmark = pytest.mark.django_db(transaction=True)


def official_sdk(url, kingdee, sdk_class=K3CloudApiSdk):
    sdk = sdk_class(url)
    sdk.InitConfig(kingdee["acct_id"], kingdee["username"], kingdee["app_id"], kingdee["app_secret"], url,
                   kingdee["lcid"])
    return sdk


def test_the_official_sdk_saves_batch_saves_submits_audits_and_queries_payment_bills(creds, kd_url, people):
    sdk = official_sdk(kd_url, creds["kingdee"])

    saved = json.loads(sdk.Save("AP_PAYBILL", {"IsVerifyBaseDataField": "true", "NeedReturnFields": ["FBillNo"],
                                               "Model": paybill(people[0], "PROC-SDK-1")}))
    assert saved["Result"]["ResponseStatus"]["IsSuccess"] is True
    assert "ErrorCode" not in saved["Result"]["ResponseStatus"]
    number = saved["Result"]["Number"]
    assert re.fullmatch(r"FKD\d{8}", number)
    assert saved["Result"]["NeedReturnData"] == [{"FBillNo": number}]
    assert saved["Result"]["ResponseStatus"]["SuccessEntitys"] == [
        {"Id": saved["Result"]["Id"], "Number": number, "DIndex": 0}]

    batch = json.loads(sdk.BatchSave("AP_PAYBILL", {"IsVerifyBaseDataField": True, "Model": [
        paybill(people[1], "PROC-SDK-2"), paybill(people[2], "PROC-SDK-3")]}))
    entities = batch["Result"]["ResponseStatus"]["SuccessEntitys"]
    assert [entity["DIndex"] for entity in entities] == [0, 1]

    submitted = json.loads(sdk.Submit("AP_PAYBILL", {"Numbers": [number]}))
    assert submitted["Result"]["ResponseStatus"]["IsSuccess"] is True
    audited = json.loads(sdk.Audit("AP_PAYBILL", {"Numbers": [number]}))
    assert audited["Result"]["ResponseStatus"]["SuccessMessages"][0]["Message"] == \
        f"单据编号为“{number}”的付款单，审核成功！"

    rows = json.loads(sdk.ExecuteBillQuery({
        "FormId": "AP_PAYBILL", "FieldKeys": "FBillNo,FDocumentStatus,FTHIRDBILLNO,FCONTACTUNIT.FName",
        "FilterString": "FTHIRDBILLNO like 'PROC-SDK-%'", "OrderString": "FTHIRDBILLNO ASC"}))
    assert rows == [
        [number, "C", "PROC-SDK-1", people[0].name],
        [entities[0]["Number"], "A", "PROC-SDK-2", people[1].name],
        [entities[1]["Number"], "A", "PROC-SDK-3", people[2].name],
    ]


def test_the_sdk_keeps_the_session_the_sandbox_opens_and_echoes_it(creds, kd_url):
    sdk = official_sdk(kd_url, creds["kingdee"])
    sdk.ExecuteBillQuery({"FormId": "BD_Department", "FieldKeys": "FNumber", "Limit": 1})
    first = sdk.cookiesStore.SID
    sdk.ExecuteBillQuery({"FormId": "BD_Department", "FieldKeys": "FNumber", "Limit": 1})

    assert first and sdk.cookiesStore.SID == first
    # The SDK keeps the space after the comma that joins Set-Cookie headers (reference §4.8).
    assert {name.strip() for name in sdk.cookiesStore.cookies} == {"kdservice-sessionid", "ASP.NET_SessionId"}


class OneCharacterOff(K3CloudApiSdk):
    header = "X-Kd-Signature"

    def BuildHeader(self, service_url):
        headers = super().BuildHeader(service_url)
        value = headers[self.header]
        headers[self.header] = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
        return headers


class GatewayOneCharacterOff(OneCharacterOff):
    header = "X-Api-Signature"


@pytest.mark.parametrize("sdk_class", [OneCharacterOff, GatewayOneCharacterOff], ids=["X-Kd", "X-Api"])
def test_the_same_request_with_one_signature_character_changed_is_rejected(creds, kd_url, people, sdk_class):
    package = {"Model": paybill(people[0], "PROC-FORGED")}

    answer = json.loads(official_sdk(kd_url, creds["kingdee"], sdk_class).Save("AP_PAYBILL", package))

    assert answer["Result"]["ResponseStatus"]["MsgCode"] == 1
    assert answer["Result"]["ResponseStatus"]["Errors"][0]["Message"] == "会话信息已丢失，请重新登录"
    assert not FormRecord.objects.filter(third_bill_no="PROC-FORGED").exists()
    genuine = json.loads(official_sdk(kd_url, creds["kingdee"]).Save("AP_PAYBILL", package))
    assert genuine["Result"]["ResponseStatus"]["IsSuccess"] is True


def test_a_forged_signature_is_rejected_even_with_a_valid_session_cookie(creds, kd_url):
    sdk = official_sdk(kd_url, creds["kingdee"])
    sdk.ExecuteBillQuery({"FormId": "BD_Department", "FieldKeys": "FNumber", "Limit": 1})
    forged = official_sdk(kd_url, creds["kingdee"], OneCharacterOff)
    forged.cookiesStore = sdk.cookiesStore

    rows = json.loads(forged.ExecuteBillQuery({"FormId": "BD_Department", "FieldKeys": "FNumber", "Limit": 1}))

    assert rows[0][0]["Result"]["ResponseStatus"]["MsgCode"] == 1
