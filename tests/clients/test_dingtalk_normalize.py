"""normalize_instance on captured shapes of both API generations (reference §3.2–3.5)."""

import json

import pytest

from integrations.clients.dingtalk import normalize_instance

TABLE = json.dumps([
    {"rowNumber": "TableField_1_A", "rowValue": [
        {"label": "费用类型", "key": "DDSelectField_13PG9B1A8TY80", "componentType": "DDSelectField",
         "value": "差旅住宿", "extendValue": {"label": "差旅住宿", "key": "option_1"}},
        {"label": "金额（元）", "key": "MoneyField_1S85G4YLMM5C0", "componentType": "MoneyField", "value": "280.5"},
        {"label": "备注", "key": "TextField_1", "value": "null"}]},
    {"rowNumber": "TableField_1_B", "rowValue": [
        {"label": "物品名称", "value": "电脑", "key": "物品名称"}, {"key": "金额（元）", "value": 1200}]},
], ensure_ascii=False)
SCHEMA = json.dumps([{"componentName": "TextField", "componentType": "TextField",
                      "props": {"id": "TextField_1", "label": "备注", "placeholder": "请输入"}}], ensure_ascii=False)

OLD = {
    "title": "张三提交的费用报销", "status": "COMPLETED", "result": "agree", "biz_action": "NONE",
    "create_time": "2022-05-30 23:46:37", "finish_time": "2022-05-31 09:54:40",
    "originator_userid": "214648015520538533", "originator_dept_id": "582976341",
    "originator_dept_name": "财务中心-核算部", "business_id": "202205302346000370844",
    "approver_userids": ["205937523932471911"], "cc_userids": ["14256020681178090"],
    "attached_process_instance_ids": [],
    "form_component_values": [
        {"id": "MoneyField_1HWHV3FP13C00", "name": "金额（元）", "component_type": "MoneyField", "value": "150",
         "ext_value": "{\"upper\":\"壹佰伍拾元整\",\"componentName\":\"MoneyField\"}"},
        {"id": "TableField_1", "name": "报销明细", "component_type": "TableField", "value": TABLE,
         "ext_value": "{\"statValue\":[],\"componentName\":\"TableField\"}"},
        {"id": "TableField_2", "name": "空明细", "component_type": "TableField", "value": SCHEMA},
        {"id": "TextField_9", "name": "备注", "component_type": "TextField", "value": "null"},
        {"id": "DDMultiSelectField_1", "name": "类型", "component_type": "DDMultiSelectField", "value": "[\"无\"]",
         "ext_value": "[{\"label\":\"无\",\"key\":\"option_0\"}]"},
        {"id": "DDDateRangeField_1", "name": "[\"开始时间\",\"结束时间\"]", "component_type": "DDDateRangeField",
         "value": "[\"2022-02-25\",\"2022-02-26\",null]"},
        {"id": "InnerContactField_1", "name": "同行人", "component_type": "InnerContactField", "value": "肖有为",
         "ext_value": "[{\"emplId\":\"u9\",\"name\":\"肖有为\",\"avatar\":\"\"}]"},
        {"id": "DDAttachment_1", "name": "附件", "component_type": "DDAttachment", "value": "null"},
        {"id": "TextNote_1", "component_type": "TextNote"},
    ],
    "operation_records": [
        {"userid": "214648015520538533", "date": "2022-05-30 23:46:37", "operation_type": "START_PROCESS_INSTANCE",
         "operation_result": "NONE"},
        {"userid": "205937523932471911", "date": "2022-05-31 09:54:39", "operation_type": "EXECUTE_TASK_NORMAL",
         "operation_result": "AGREE", "remark": "",
         "attachments": [{"file_name": "发票.pdf", "file_size": "11890", "file_id": "2258", "file_type": "pdf"}]},
    ],
    "tasks": [{"taskid": "74296847418", "userid": "205937523932471911", "activity_id": "b39a_73fb",
               "task_status": "COMPLETED", "task_result": "AGREE", "create_time": "2022-05-30 23:46:38",
               "finish_time": "2022-05-31 09:54:40", "url": "aflow.dingtalk.com?procInsId=x"}],
}


def to_v1(old):
    """The same instance as the v1.0 API writes it: camelCase, UTC minutes, numbers for task ids."""
    def utc(text):
        return {"2022-05-30 23:46:37": "2022-05-30T15:46Z", "2022-05-31 09:54:40": "2022-05-31T01:54Z",
                "2022-05-31 09:54:39": "2022-05-31T01:54Z", "2022-05-30 23:46:38": "2022-05-30T15:46Z"}[text]

    components = []
    for item in old["form_component_values"]:
        new = {"id": item["id"], "componentType": item["component_type"], "bizAlias": ""}
        for old_key, new_key in (("name", "name"), ("value", "value"), ("ext_value", "extValue")):
            if old_key in item and not (item["component_type"] == "DDAttachment" and old_key == "value"):
                new[new_key] = item[old_key]
        components.append(new)
    return {
        "title": old["title"], "status": old["status"], "result": old["result"], "bizAction": "NONE",
        "createTime": utc(old["create_time"]), "finishTime": utc(old["finish_time"]),
        "originatorUserId": old["originator_userid"], "originatorDeptId": old["originator_dept_id"],
        "originatorDeptName": old["originator_dept_name"], "businessId": old["business_id"],
        "approverUserIds": old["approver_userids"], "ccUserIds": old["cc_userids"],
        "attachedProcessInstanceIds": [], "formComponentValues": components,
        "operationRecords": [
            {"userId": r["userid"], "date": utc(r["date"]), "type": r["operation_type"],
             "result": r["operation_result"], "remark": r.get("remark"),
             "attachments": [{"fileName": a["file_name"], "fileSize": 11890, "fileId": a["file_id"],
                              "fileType": a["file_type"], "spaceId": "1"} for a in r.get("attachments", [])]}
            for r in old["operation_records"]],
        "tasks": [{"taskId": 74296847418, "userId": t["userid"], "status": t["task_status"],
                   "result": t["task_result"], "createTime": utc(t["create_time"]), "finishTime": utc(t["finish_time"]),
                   "activityId": t["activity_id"], "mobileUrl": "?procInsId=x", "pcUrl": "?procInsId=x"}
                  for t in old["tasks"]],
    }


@pytest.fixture
def normalized():
    return normalize_instance(OLD, legacy=True, instance_id="inst-1")


def test_both_generations_normalize_to_the_same_dict():
    assert normalize_instance(OLD, True, "inst-1") == normalize_instance(to_v1(OLD), False, "inst-1")


def test_times_are_beijing_iso_at_minute_precision(normalized):
    assert normalized["create_time"] == "2022-05-30T23:46:00+08:00"
    assert normalized["tasks"][0]["finish_time"] == "2022-05-31T09:54:00+08:00"


def test_detail_rows_are_matched_by_label_then_key(normalized):
    assert normalized["form"]["报销明细"] == [
        {"费用类型": "差旅住宿", "金额（元）": "280.5", "备注": ""},
        {"物品名称": "电脑", "金额（元）": "1200"},
    ]


def test_an_empty_table_sent_as_its_schema_has_no_rows(normalized):
    assert normalized["form"]["空明细"] == []


def test_lists_are_parsed_and_null_is_empty(normalized):
    form = normalized["form"]
    assert form["类型"] == ["无"] and form["开始时间~结束时间"] == ["2022-02-25", "2022-02-26", ""]
    assert form["备注"] == "" and form["附件"] == [] and form["金额（元）"] == "150"
    assert "" not in form  # the TextNote has no label


def test_ext_values_are_parsed(normalized):
    assert normalized["form_ext"]["同行人"][0]["emplId"] == "u9"
    assert normalized["form_ext"]["金额（元）"]["upper"] == "壹佰伍拾元整"


def test_the_instance_fields_are_snake_case_and_serialisable(normalized):
    assert normalized["process_instance_id"] == "inst-1" and normalized["originator_userid"] == "214648015520538533"
    assert normalized["tasks"][0]["task_id"] == "74296847418"
    assert normalized["operation_records"][1]["attachments"][0]["file_size"] == "11890"
    assert json.loads(json.dumps(normalized)) == normalized


def test_a_running_instance_has_empty_result_and_finish_time():
    running = {**OLD, "status": "RUNNING", "result": ""}
    del running["finish_time"]
    assert normalize_instance(running, True)["finish_time"] == "" and normalize_instance(running, True)["result"] == ""


def test_a_detail_table_that_is_not_json_is_refused():
    broken = {**OLD, "form_component_values": [{"name": "报销明细", "component_type": "TableField", "value": "[{"}]}
    with pytest.raises(ValueError, match="detail table"):
        normalize_instance(broken, True)
