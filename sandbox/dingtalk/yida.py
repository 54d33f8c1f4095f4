"""Yida (宜搭): one 进销存 app with three forms (销售订单, 采购入库单, 直接调拨单) and their instances.

Round 2 §4: instances carry `formData` keyed by field id (`textField_…`), numbers as numbers, dates as epoch
milliseconds, members as userid lists, sub-tables (`tableField_…`) as lists of rows keyed by their columns' ids.
`modifiedTimeGMT` strings are Beijing wall time without a zone (which zone the API means is unconfirmed; the
sandbox answers Beijing time, so a client must overlap its windows). `save_instance` is the door's create or
update: an update bumps `version` and `modified_at`.
"""

import random
import string
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from sandbox import roster
from sandbox.dingtalk.models import Employee, YidaApp, YidaForm, YidaInstance

BEIJING = ZoneInfo("Asia/Shanghai")
APP_NAME = "进销存管理"
GMT_FORMAT = "%Y-%m-%d %H:%M:%S"
DATA_ID_START = 1000

SALE = [
    ("TextField", "客户编码", None), ("TextField", "客户名称", None), ("DateField", "订单日期", None),
    ("EmployeeField", "销售员", None), ("TextareaField", "备注", None),
    ("TableField", "订单明细", [("TextField", "物料编码"), ("TextField", "物料名称"), ("NumberField", "数量"),
                             ("NumberField", "含税单价"), ("NumberField", "税率(%)"), ("DateField", "交货日期")]),
]
# form key → (name, [(component, label, children)]); ids are derived from the key and the label.
FORMS = {
    "sale": ("销售订单", SALE),
    "receipt": ("采购入库单", [
        ("TextField", "供应商编码", None), ("DateField", "入库日期", None), ("EmployeeField", "仓管员", None),
        ("TextareaField", "备注", None),
        ("TableField", "入库明细", [("TextField", "物料编码"), ("NumberField", "实收数量"), ("NumberField", "含税单价"),
                                 ("TextField", "仓库编码"), ("TextField", "批号")]),
    ]),
    "transfer": ("直接调拨单", [
        ("DateField", "调拨日期", None), ("TextField", "调出仓库编码", None), ("TextField", "调入仓库编码", None),
        ("EmployeeField", "经办人", None), ("TextareaField", "调拨原因", None),
        ("TableField", "调拨明细", [("TextField", "物料编码"), ("NumberField", "调拨数量")]),
    ]),
    # A process (流程) form: instances are approved before they count (GetInstances, round 2 §4.1).
    "sale_approval": ("销售订单审批", SALE),
}
PREFIX = {"TextField": "textField", "TextareaField": "textareaField", "NumberField": "numberField",
          "DateField": "dateField", "EmployeeField": "employeeField", "TableField": "tableField"}
MATERIALS = [("1.01.001", "智能网关 X1", 1280), ("1.01.002", "温湿度传感器 T3", 168), ("1.02.002", "扫码枪 S5", 420),
             ("2.01.001", "安装支架", 35), ("2.01.002", "电源适配器", 28.5)]
CUSTOMERS = [("CUST0001", "上海云启信息技术有限公司"), ("CUST0002", "杭州数智零售有限公司"),
             ("CUST0003", "苏州精工装备制造有限公司")]
SUPPLIERS = ["VEN00001", "VEN00002"]
PROCESS_FORMS = {"sale_approval": "sale"}  # process form key → the plain form whose values it takes
# How the seeded instances of a process form stand: two approved, one still running, one refused.
SEEDED_OUTCOMES = [("COMPLETED", "agree"), ("RUNNING", ""), ("COMPLETED", "agree"), ("COMPLETED", "disagree")]
STATUSES = ("RUNNING", "TERMINATED", "COMPLETED", "ERROR")
RESULTS = ("agree", "disagree")


class DoorError(ValueError):
    pass


def field_id(component, label, salt):
    rng = random.Random(f"{salt}|{label}")
    return f"{PREFIX[component]}_{''.join(rng.choices(string.ascii_lowercase + string.digits, k=8))}"


def components_of(key):
    _name, specs = FORMS[key]
    found = []
    for component, label, children in specs:
        own = field_id(component, label, key)
        found.append({"fieldId": own, "label": label, "componentName": component, "parentId": ""})
        for child_component, child_label in children or []:
            found.append({"fieldId": field_id(child_component, child_label, f"{key}/{label}"), "label": child_label,
                          "componentName": child_component, "parentId": own})
    return found


def process_code(seed, key):
    if key not in PROCESS_FORMS:
        return ""
    rng = random.Random(f"{seed}-yida-process-{key}")
    return "TPROC--" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=32))


def form_uuid(seed, key):
    rng = random.Random(f"{seed}-yida-{key}")
    return "FORM-" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=40))


def seed_yida(seed=roster.DEFAULT_SEED, instances=4):
    """The app, its three forms and a few instances of each, modified in the last days. Idempotent."""
    rng = random.Random(f"{seed}-yida")
    app, _created = YidaApp.objects.update_or_create(
        app_type="APP_" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=20)),
        defaults={"name": APP_NAME, "system_token": "".join(rng.choices("0123456789ABCDEF", k=32))})
    forms = {}
    for key, (name, _specs) in FORMS.items():
        form, _created = YidaForm.objects.update_or_create(
            form_uuid=form_uuid(seed, key), defaults={"app": app, "name": name, "components": components_of(key),
                                                      "process_code": process_code(seed, key)})
        forms[key] = form
    people = list(Employee.objects.filter(active=True).order_by("userid")[:6])
    if people and not YidaInstance.objects.filter(form__app=app).exists():
        now = timezone.now()
        for key, form in forms.items():
            for index in range(instances):
                person = people[(index + len(key)) % len(people)]
                moment = now - timedelta(days=index + 1, hours=rng.randint(0, 8))
                values = sample_values(PROCESS_FORMS.get(key, key), rng, moment, person.userid)
                status, result = SEEDED_OUTCOMES[index % len(SEEDED_OUTCOMES)] if form.process_code else ("", "")
                save_instance(form, values, person.userid, at=moment, status=status, result=result)
    acting = roster.employees(1, seed)[0].userid  # the templates' acting user: the roster's first employee
    return {"app_type": app.app_type, "system_token": app.system_token, "user_id": acting,
            "forms": {key: form.form_uuid for key, form in forms.items()}}


def sample_values(key, rng, moment, userid):
    """Plausible values by label for one instance of a form."""
    millis = int(moment.timestamp() * 1000)
    if key == "sale":
        customer, name = rng.choice(CUSTOMERS)
        rows = [{"物料编码": number, "物料名称": label, "数量": rng.randint(1, 20), "含税单价": price, "税率(%)": 13,
                 "交货日期": millis + 7 * 86400000} for number, label, price in rng.sample(MATERIALS, 2)]
        return {"客户编码": customer, "客户名称": name, "订单日期": millis, "销售员": [userid], "备注": "宜搭销售订单",
                "订单明细": rows}
    if key == "receipt":
        rows = [{"物料编码": number, "实收数量": rng.randint(5, 50), "含税单价": round(price * 0.7, 2), "仓库编码": "CK001",
                 "批号": f"{moment:%Y%m%d}"} for number, _label, price in rng.sample(MATERIALS, 2)]
        return {"供应商编码": rng.choice(SUPPLIERS), "入库日期": millis, "仓管员": [userid], "备注": "宜搭采购入库",
                "入库明细": rows}
    rows = [{"物料编码": number, "调拨数量": rng.randint(1, 5)} for number, _label, _price in rng.sample(MATERIALS, 2)]
    return {"调拨日期": millis, "调出仓库编码": "CK001", "调入仓库编码": "CK003", "经办人": [userid], "调拨原因": "备件补货",
            "调拨明细": rows}


def form_key(form):
    return next((key for key, (name, _specs) in FORMS.items() if name == form.name), "")


def by_id(form, values):
    """formData keyed by field id, from values keyed by field id or by label (sub-table rows too)."""
    components = form.components
    top = {c["label"]: c for c in components if not c["parentId"]}
    ids = {c["fieldId"]: c for c in components}
    data = {}
    for name, value in (values or {}).items():
        component = ids.get(name) or top.get(name)
        if component is None or component["parentId"]:
            raise DoorError(f"表单“{form.name}”没有字段“{name}”")
        if component["componentName"] == "TableField":
            if not isinstance(value, list):
                raise DoorError(f"子表单“{component['label']}”的值必须是行的列表")
            columns = {c["label"]: c for c in components if c["parentId"] == component["fieldId"]}
            column_ids = {c["fieldId"]: c for c in columns.values()}
            rows = []
            for row in value:
                if not isinstance(row, dict):
                    raise DoorError(f"子表单“{component['label']}”的每一行必须是对象")
                converted = {}
                for column, cell in row.items():
                    child = column_ids.get(column) or columns.get(column)
                    if child is None:
                        raise DoorError(f"子表单“{component['label']}”没有列“{column}”")
                    converted[child["fieldId"]] = cell
                rows.append(converted)
            value = rows
        data[component["fieldId"]] = value
    return data


def outcome(form, status, result, instance=None):
    """A process instance's (status, result) after a change from the door; a plain form has neither."""
    if not form.process_code:
        if status or result:
            raise DoorError(f"表单“{form.name}”不是流程表单，没有审批状态")
        return "", ""
    status = (status or (instance.instance_status if instance else "") or "RUNNING").upper()
    result = (result if result is not None else (instance.approved_result if instance else "")) or ""
    if status not in STATUSES:
        raise DoorError(f"instanceStatus 必须是 {'/'.join(STATUSES)} 之一")
    if result and result not in RESULTS:
        raise DoorError(f"approvedResult 必须是 {'/'.join(RESULTS)} 之一")
    return status, result if status == "COMPLETED" else ""


@transaction.atomic
def save_instance(form, values, userid, instance_id="", at=None, status="", result=None):
    """Create an instance (no `instance_id`) or update one: changed fields replace the old ones. A process form's
    instance starts RUNNING; `status` and `result` move it (COMPLETED with agree is approved)."""
    moment = at or timezone.now()
    data = by_id(form, values)
    if instance_id:
        instance = YidaInstance.objects.select_for_update().filter(form_instance_id=instance_id).first()
        if instance is None or instance.form_id != form.pk:
            raise DoorError(f"表单实例“{instance_id}”不存在")
        instance.instance_status, instance.approved_result = outcome(form, status, result, instance)
        instance.form_data = {**instance.form_data, **data}
        instance.version += 1
        instance.modifier = userid or instance.modifier
        instance.modified_at = max(moment, instance.modified_at + timedelta(seconds=1))
        instance.save()
        return instance
    data_id = (YidaInstance.objects.order_by("-data_id").values_list("data_id", flat=True).first() or DATA_ID_START) + 1
    rng = random.Random(f"{form.form_uuid}-{data_id}")
    person = Employee.objects.filter(userid=userid).first()
    status, result = outcome(form, status, result)
    return YidaInstance.objects.create(instance_status=status, approved_result=result,
        form=form, form_instance_id="FINST-" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=32)),
        data_id=data_id, serial_no=f"{form_key(form).upper()[:2]}{moment.astimezone(BEIJING):%Y%m%d}{data_id:05d}",
        title=f"{person.name if person else userid}发起的{form.name}", originator=userid, modifier=userid,
        created_at=moment, modified_at=moment, form_data=data)


def gmt(moment):
    return moment.astimezone(BEIJING).strftime(GMT_FORMAT)


def user_block(userid, names, key="userName"):
    name = names.get(userid, userid)
    return {"userId": userid, key: {"nameInChinese": name, "nameInEnglish": "", "type": "i18n"}}


def names_of(instances):
    userids = {i.originator for i in instances} | {i.modifier for i in instances}
    userids |= {userid for i in instances for key, value in i.form_data.items()
                if key.startswith("employeeField") and isinstance(value, list) for userid in value}
    return dict(Employee.objects.filter(userid__in=userids).values_list("userid", "name"))


def search_row(instance, names):
    """One item of `SearchFormDatas` (round 2 §4.3)."""
    return {
        "formInstanceId": instance.form_instance_id, "formUuid": instance.form.form_uuid, "dataId": instance.data_id,
        "title": instance.title, "serialNo": instance.serial_no, "sequence": instance.serial_no,
        "version": instance.version, "createdTimeGMT": gmt(instance.created_at),
        "modifiedTimeGMT": gmt(instance.modified_at), "creatorUserId": instance.originator,
        "modifierUserId": instance.modifier, "originator": user_block(instance.originator, names),
        "modifyUser": user_block(instance.modifier, names), "instanceValue": "", "formData": instance.form_data,
    }


def advanced_row(instance, names):
    """One item of the advanced search (`…/advances/queryAll`): its own names, and `_id` companion keys for member
    fields (round 2 §4.3)."""
    data = dict(instance.form_data)
    for key, value in instance.form_data.items():
        if key.startswith("employeeField") and isinstance(value, list):
            data[f"{key}_id"] = list(value)
            data[key] = [names.get(userid, userid) for userid in value]
    return {
        "formInstanceId": instance.form_instance_id, "formUuid": instance.form.form_uuid, "id": instance.data_id,
        "title": instance.title, "serialNumber": instance.serial_no, "sequence": instance.serial_no,
        "version": instance.version, "createTimeGMT": gmt(instance.created_at),
        "modifiedTimeGMT": gmt(instance.modified_at), "creatorUserId": instance.originator,
        "modifier": instance.modifier, "originator": user_block(instance.originator, names, key="name"),
        "modifyUser": user_block(instance.modifier, names, key="name"), "instanceValue": "", "formData": data,
    }


def process_row(instance, names):
    """One item of `GetInstances` (and the answer of `GetInstanceById`): `processInstanceId`, `instanceStatus`,
    `approvedResult`, the values under `data` (SDK yida_1_0 models)."""
    block = user_block(instance.originator, names, key="name")
    return {
        "processInstanceId": instance.form_instance_id, "formUuid": instance.form.form_uuid,
        "processCode": instance.form.process_code, "title": instance.title, "version": instance.version,
        "instanceStatus": instance.instance_status, "approvedResult": instance.approved_result,
        "createTimeGMT": gmt(instance.created_at), "modifiedTimeGMT": gmt(instance.modified_at),
        "originator": {**block, "deptName": "", "email": ""}, "actionExecutor": [], "data": instance.form_data,
    }


def by_id_row(instance, names):
    """`GetFormDataByID`: `formInstId` and `originator.name` (round 2 §4.3)."""
    block = user_block(instance.originator, names, key="name")
    return {"formInstId": instance.form_instance_id, "modifiedTimeGMT": gmt(instance.modified_at),
            "originator": {**block, "departmentName": "", "email": ""}, "formData": instance.form_data}


def parse_day(value, end=False):
    """`yyyy-MM-dd` (SDK examples) or `yyyy-MM-dd HH:mm:ss` (community code), as Beijing wall time."""
    text = str(value).strip()
    for pattern in (GMT_FORMAT, "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, pattern).replace(tzinfo=BEIJING)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d" and end:
            moment += timedelta(days=1)  # a to-date includes its whole day
        return moment
    raise DoorError(text)
