"""Approval instances and users in each API generation's own shape (reference §3.2, §3.5, §5)."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def parse_iso(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def old_time(moment):
    """Beijing local time without a zone marker."""
    if isinstance(moment, str):
        moment = parse_iso(moment)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def new_time(moment):
    """ISO UTC with minute precision, as the v1.0 SDK documents."""
    if isinstance(moment, str):
        moment = parse_iso(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _task_url(instance, task):
    return f"?procInsId={instance.process_instance_id}&taskId={task['task_id']}&businessId={instance.business_id}"


def old_instance(instance):
    body = {
        "title": instance.title, "status": instance.status, "result": instance.result,
        "biz_action": instance.biz_action, "create_time": old_time(instance.create_time),
        "originator_userid": instance.originator.userid, "originator_dept_id": instance.originator_dept_id,
        "originator_dept_name": instance.originator_dept_name, "business_id": instance.business_id,
        "approver_userids": instance.approver_userids, "cc_userids": instance.cc_userids,
        "attached_process_instance_ids": instance.attached_process_instance_ids,
        "form_component_values": instance.form_values,
        "operation_records": [_old_record(r) for r in instance.operation_records],
        "tasks": [_old_task(instance, t) for t in instance.tasks],
    }
    if instance.finish_time:
        body["finish_time"] = old_time(instance.finish_time)
    if instance.main_process_instance_id:
        body["main_process_instance_id"] = instance.main_process_instance_id
    return body


def _old_record(record):
    item = {"userid": record["userid"], "date": old_time(record["date"]),
            "operation_type": record["type"], "operation_result": record["result"]}
    if "remark" in record:
        item["remark"] = record["remark"]
    return item


def _old_task(instance, task):
    item = {"taskid": str(task["task_id"]), "userid": task["userid"], "activity_id": task["activity_id"],
            "task_status": task["status"], "task_result": task["result"],
            "create_time": old_time(task["create_time"]),
            "url": "aflow.dingtalk.com" + _task_url(instance, task)}
    if task.get("finish_time"):
        item["finish_time"] = old_time(task["finish_time"])
    return item


def new_instance(instance):
    body = {
        "title": instance.title, "status": instance.status, "bizAction": instance.biz_action,
        "createTime": new_time(instance.create_time), "originatorUserId": instance.originator.userid,
        "originatorDeptId": instance.originator_dept_id, "originatorDeptName": instance.originator_dept_name,
        "businessId": instance.business_id, "approverUserIds": instance.approver_userids,
        "ccUserIds": instance.cc_userids, "attachedProcessInstanceIds": instance.attached_process_instance_ids,
        "formComponentValues": [_new_component(c) for c in instance.form_values],
        "operationRecords": [_new_record(r) for r in instance.operation_records],
        "tasks": [_new_task(instance, t) for t in instance.tasks], "bizData": "",
    }
    if instance.result:  # absent, not empty, while running or when terminated
        body["result"] = instance.result
    if instance.finish_time:
        body["finishTime"] = new_time(instance.finish_time)
    if instance.main_process_instance_id:
        body["mainProcessInstanceId"] = instance.main_process_instance_id
    return body


def _new_component(item):
    component = {"id": item["id"], "componentType": item["component_type"], "bizAlias": ""}
    if "name" in item:
        component["name"] = item["name"]
    empty_attachment = item["component_type"] == "DDAttachment" and item.get("value") in ("", "null")
    if "value" in item and not empty_attachment:  # v1.0 leaves an empty attachment out
        component["value"] = item["value"]
    if "ext_value" in item:
        component["extValue"] = item["ext_value"]
    return component


def _new_record(record):
    item = {"userId": record["userid"], "date": new_time(record["date"]), "type": record["type"],
            "result": record["result"], "showName": ""}
    if "remark" in record:
        item["remark"] = record["remark"]
    return item


def _new_task(instance, task):
    item = {"taskId": task["task_id"], "userId": task["userid"], "activityId": task["activity_id"],
            "status": task["status"], "result": task["result"], "createTime": new_time(task["create_time"]),
            "mobileUrl": _task_url(instance, task), "pcUrl": _task_url(instance, task)}
    if task.get("finish_time"):
        item["finishTime"] = new_time(task["finish_time"])
    return item


def user(employee, settings, dept_ids):
    """One user as topapi/v2/user/get and v2/user/list return it; some fields need permissions."""
    body = {
        "userid": employee.userid, "unionid": employee.unionid, "name": employee.name, "avatar": "",
        "state_code": "86", "hide_mobile": False, "telephone": "", "job_number": employee.job_number,
        "title": employee.title, "dept_id_list": dept_ids,
        "dept_order_list": [{"dept_id": d, "order": 0} for d in dept_ids],
        "leader_in_dept": [{"dept_id": d, "leader": d in employee.leader_in} for d in dept_ids],
        "manager_userid": employee.manager_userid, "active": True, "admin": employee.admin, "boss": employee.boss,
        "senior": False, "real_authed": True, "exclusive_account": False, "role_list": [],
    }
    if employee.hired_date:
        body["hired_date"] = int(datetime(employee.hired_date.year, employee.hired_date.month,
                                          employee.hired_date.day, tzinfo=BEIJING).timestamp() * 1000)
    if settings.mobile_visible:
        body["mobile"] = employee.mobile
    if settings.email_visible:
        body.update(email=employee.email, org_email="", work_place="", remark="", extension="{}")
    return body


def schema_id(component_id):
    """The schema API spells component ids with a hyphen where instances use an underscore (round 2 §9.1)."""
    return component_id.replace("_", "-", 1)


def form_schema(template):
    """`GET /v1.0/workflow/forms/schemas/processCodes`: the template's components as the SDK models them."""
    return {
        "name": template.name, "formCode": template.process_code, "procType": "inner", "engineType": 0,
        "memo": "", "schemaContent": {"title": template.name, "icon": "common",
                                      "items": [_schema_item(item) for item in template.form]},
    }


def _schema_item(item):
    kind = item["componentType"]
    label = item["label"]
    if label.startswith("["):  # a date range: its two labels
        label = json.loads(label)
    props = {"id": schema_id(item["id"]), "label": label or "说明", "required": kind != "TextNote", "bizAlias": ""}
    if "options" in item:
        props["options"] = [json.dumps({"key": f"option_{index}", "value": option}, ensure_ascii=False)
                            for index, option in enumerate(item["options"])]
    if kind == "TextNote":
        props["content"] = "请按公司制度填写"
    schema = {"componentName": kind, "props": props}
    if kind == "TableField":
        props["actionName"] = "添加"
        props["statField"] = [{"id": schema_id(child["id"]), "label": child["label"], "unit": "元", "upper": True}
                              for child in item["children"] if child["componentType"] == "MoneyField"]
        schema["children"] = [_schema_item(child) for child in item["children"]]
    return schema
