"""The sandboxes' customers: DingTalk CRM in the v1.0 shapes (round 2 §6) and Kingdee BD_Customer's rules."""

import pytest

from sandbox.dingtalk import crm
from sandbox.dingtalk.models import CrmCustomer, Employee
from sandbox.kingdee.models import FormRecord
from tests.sandbox_dingtalk.helpers import seeded  # noqa: F401
from tests.sandbox_kingdee.fixtures import api, creds, kd_url, people, webapi  # noqa: F401

pytestmark = pytest.mark.django_db
BASE = "/sandbox/dingtalk/"


@pytest.fixture
def v1(client, seeded):
    app = seeded["dingtalk"]
    token = client.post(BASE + "v1.0/oauth2/accessToken", {"appKey": app["app_key"], "appSecret": app["app_secret"]},
                        content_type="application/json").json()["accessToken"]

    def call(method, path, body):
        response = getattr(client, method)(BASE + path, body, content_type="application/json",
                                           headers={"x-acs-dingtalk-access-token": token})
        return response.status_code, response.json()

    return call


@pytest.fixture
def admin_userid(seeded):
    return Employee.objects.filter(admin=True).values_list("userid", flat=True).first()


def create(v1, operator, name, **data):
    return v1("post", "v1.0/crm/customers", {
        "objectType": "crm_customer", "creatorUserId": operator, "data": {"customer_name": name, **data},
        "permission": {"ownerStaffIds": [operator]}, "saveOption": {"skipDuplicateCheck": False}})


def test_query_all_pages_with_next_token_in_the_official_shape(v1, admin_userid):
    for index in range(7):
        assert create(v1, admin_userid, f"客户{index}", phone=f"0571-{index}")[0] == 200
    status, first = v1("post", "v1.0/crm/customerInstances", {"operatorUserId": admin_userid,
                                                               "objectType": "crm_customer", "maxResults": 5})
    assert status == 200 and len(first["result"]["values"]) == 5 and first["result"]["nextToken"] == "5"
    value = first["result"]["values"][0]
    assert set(value) >= {"instanceId", "objectType", "createTime", "modifyTime", "creatorUserId", "data", "permission",
                          "processOutResult", "processInstanceStatus"}
    assert value["permission"]["ownerStaffIds"] == [admin_userid] and value["data"]["customer_name"] == "客户0"
    _status, second = v1("post", "v1.0/crm/customerInstances", {"operatorUserId": admin_userid, "maxResults": 5,
                                                                "objectType": "crm_customer", "nextToken": "5"})
    assert len(second["result"]["values"]) == 2 and "nextToken" not in second["result"]
    status, refused = v1("post", "v1.0/crm/customerInstances", {"operatorUserId": admin_userid, "maxResults": 101})
    assert status == 400 and refused["code"] == "param.error"


def test_reads_follow_data_permission(v1, admin_userid):
    other = Employee.objects.filter(admin=False, active=True).values_list("userid", flat=True).first()
    create(v1, admin_userid, "管理员的客户")
    create(v1, other, "销售自己的客户")
    seen = lambda userid: [v["data"]["customer_name"] for v in v1("post", "v1.0/crm/customerInstances", {  # noqa: E731
        "operatorUserId": userid, "objectType": "crm_customer"})[1]["result"]["values"]]
    assert seen(admin_userid) == ["管理员的客户", "销售自己的客户"]
    assert seen(other) == ["销售自己的客户"]
    status, body = v1("post", "v1.0/crm/customerInstances", {"operatorUserId": "nobody", "objectType": "crm_customer"})
    assert status == 400 and body["code"] == "systemError.notPermittedAccess"


def test_create_refuses_a_duplicate_name_unless_told_to_skip_the_check(v1, admin_userid):
    status, body = create(v1, admin_userid, "杭州某某科技有限公司")
    assert status == 200 and body["customerInstanceId"] and body["objectType"] == "crm_customer"
    status, body = create(v1, admin_userid, "杭州某某科技有限公司")
    assert status == 400 and body["code"] == "duplicated.customer"
    status, _body = v1("post", "v1.0/crm/customers", {
        "objectType": "crm_customer", "creatorUserId": admin_userid, "data": {"customer_name": "杭州某某科技有限公司"},
        "saveOption": {"skipDuplicateCheck": True}})
    assert status == 200 and CrmCustomer.objects.count() == 2
    status, body = v1("post", "v1.0/crm/customers", {"objectType": "crm_customer", "creatorUserId": admin_userid,
                                                     "data": {"customer_name": "无保存选项"}})
    assert status == 400


def test_batch_update_answers_per_customer_and_takes_at_most_ten(v1, admin_userid):
    key = create(v1, admin_userid, "甲公司", phone="1")[1]["customerInstanceId"]
    status, body = v1("put", "v1.0/crm/relationDatas/batch", {
        "relationType": "crm_customer", "operatorUserId": admin_userid, "relationList": [
            {"relationId": key, "bizDataList": [{"key": "phone", "value": "2"}]},
            {"relationId": "missing", "bizDataList": [{"key": "phone", "value": "3"}]}]})
    assert status == 200
    assert [(r["relationId"], r["success"]) for r in body["results"]] == [(key, True), ("missing", False)]
    assert CrmCustomer.objects.get(instance_id=key).data["phone"] == "2"
    status, body = v1("put", "v1.0/crm/relationDatas/batch", {
        "relationType": "crm_customer", "operatorUserId": admin_userid,
        "relationList": [{"relationId": key, "bizDataList": []}] * 11})
    assert status == 400 and body["code"] == "param.error"


def test_the_door_creates_updates_and_deletes(client, seeded, admin_userid):
    door = lambda **body: client.post(BASE + "_crm", body, content_type="application/json")  # noqa: E731
    made = door(action="create", customer={"data": {"customer_name": "门口客户", "phone": "1"}}).json()
    assert made["data"]["customer_name"] == "门口客户" and made["permission"]["ownerStaffIds"]
    updated = door(action="update", customer={"instanceId": made["instanceId"], "data": {"phone": "2"}}).json()
    assert updated["data"] == {"customer_name": "门口客户", "phone": "2"}
    assert door(action="delete", customer={"instanceId": made["instanceId"]}).json()["deleted"] is True
    assert not list(crm.visible(admin_userid))
    refused = door(action="update", customer={"instanceId": made["instanceId"], "data": {"phone": "3"}})
    assert refused.status_code == 400 and "不存在" in refused.json()["error"]
    assert door(action="create", customer={"data": {"phone": "1"}}).status_code == 400


def test_a_customer_edited_in_the_sandbox_admin_is_read_with_its_new_value_and_time(client, v1, admin_userid,
                                                                                  django_user_model):
    status, made = create(v1, admin_userid, "后台编辑客户", phone="1")
    customer = CrmCustomer.objects.get(instance_id=made["customerInstanceId"])
    CrmCustomer.objects.filter(pk=customer.pk).update(modified_at="2026-01-01T00:00:00Z")
    admin = django_user_model.objects.create_superuser("sandbox-admin", password="x")
    client.force_login(admin)
    url = f"/admin/sandbox_dingtalk/crmcustomer/{customer.pk}/change/"
    assert client.get(url).status_code == 200
    answer = client.post(url, {"instance_id": customer.instance_id, "object_type": "crm_customer",
                               "data": '{"customer_name": "后台编辑客户", "phone": "0571-2"}', "extend_data": "{}",
                               "creator_userid": admin_userid, "owner_userids": f'["{admin_userid}"]',
                               "participant_userids": "[]"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    status, listed = v1("post", "v1.0/crm/customerInstances", {"operatorUserId": admin_userid,
                                                               "objectType": "crm_customer", "maxResults": 100})
    shown = next(value for value in listed["result"]["values"] if value["instanceId"] == customer.instance_id)
    assert status == 200 and shown["data"]["phone"] == "0571-2" and not shown["modifyTime"].startswith("2026-01-01")


def succeeded(answer):
    return answer["Result"]["ResponseStatus"]["IsSuccess"]


def test_kingdee_customer_needs_its_organisation_and_currency_and_gets_a_number_from_the_coding_rule(api):
    refused = api.save({"FName": "缺组织的客户"}, form="BD_Customer")
    messages = [e["Message"] for e in refused["Result"]["ResponseStatus"]["Errors"]]
    assert not succeeded(refused) and any("创建组织" in m for m in messages) and any("结算币别" in m for m in messages)
    made = api.save({"FName": "编码规则客户", "FCreateOrgId": {"FNumber": "100"}, "FTRADINGCURRID": {"FNumber": "PRE001"},
                     "FCustTypeId": {"FNumber": "KHLB001_SYS"}}, form="BD_Customer", IsAutoSubmitAndAudit=True)
    assert succeeded(made) and made["Result"]["Number"].startswith("CUST")
    record = FormRecord.objects.get(form_id="BD_Customer", number=made["Result"]["Number"])
    update = api.save({"FCUSTID": record.fid, "FTEL": "0571-1"}, form="BD_Customer", NeedUpDateFields=["FTEL"])
    assert succeeded(update)  # an audited customer is updated in place, without the org it was created with


def test_a_forbidden_kingdee_customer_refuses_edits_until_enabled(api):
    made = api.save({"FName": "禁用客户", "FCreateOrgId": {"FNumber": "100"}, "FTRADINGCURRID": {"FNumber": "PRE001"}},
                    form="BD_Customer", IsAutoSubmitAndAudit=True)
    number = made["Result"]["Number"]
    api.post("DynamicFormService.ExcuteOperation", {"formid": "BD_Customer", "opNumber": "Forbid",
                                                    "data": {"Numbers": [number]}})
    record = FormRecord.objects.get(form_id="BD_Customer", number=number)
    assert record.forbidden
    refused = api.save({"FCUSTID": record.fid, "FTEL": "1"}, form="BD_Customer", NeedUpDateFields=["FTEL"])
    assert not succeeded(refused) and "禁用" in refused["Result"]["ResponseStatus"]["Errors"][0]["Message"]
    rows = api.query("BD_Customer", "FNumber,FForbidStatus", f"FNumber = '{number}'")
    assert rows == [[number, "B"]]
    api.post("DynamicFormService.ExcuteOperation", {"formid": "BD_Customer", "opNumber": "Enable",
                                                    "data": {"Numbers": [number]}})
    assert api.query("BD_Customer", "FNumber,FForbidStatus", f"FNumber = '{number}'") == [[number, "A"]]
    enabled = api.save({"FCUSTID": record.fid, "FTEL": "2"}, form="BD_Customer", NeedUpDateFields=["FTEL"])
    assert succeeded(enabled)
