"""Approval forms for the accounting flows, and the files on approvals.

- 借款审批 (loan) and 付款申请 (payment request) templates with seeded instances. The payment request carries a
  detail table (付款明细) with a table nested in each row (项目分摊), amounts in 分 as NumberFields, and files;
- `POST /v1.0/workflow/processInstances/spaces/files/urls/download` {processInstanceId, fileId} →
  {"success": true, "result": {"spaceId", "fileId", "downloadUri"}} (the official 下载审批附件 API), and the
  download link itself, which serves the file's bytes (deterministic, of the size the form states).
"""

import hashlib
import random
import uuid
from datetime import timedelta
from decimal import Decimal

from django.http import Http404, HttpResponse
from django.urls import reverse

from sandbox import roster
from sandbox.dingtalk import forms
from sandbox.dingtalk.models import ApprovalInstance, Employee, ProcessTemplate
from sandbox.dingtalk.views.gate import V1, Refusal, api, json_response

LOAN_PROCESS_CODE = "PROC-5B2D8E1F-3A47-4C69-B0D2-JIEKUANSHENQING"
LOAN_PROCESS_NAME = "借款审批"
LOAN_FORM = [
    ("TextareaField_0K7B2N5Q8W1E0", "借款事由", "TextareaField"),
    ("MoneyField_2D4G6J8L0N2P0", "借款金额(元)", "MoneyField"),
    ("DDDateField_1R3T5Y7U9I1O0", "预计还款日期", "DDDateField"),
    ("TextField_0A2S4D6F8G0H0", "收款账号", "TextField"),
    ("DDAttachment_1Z3X5C7V9B1N0", "附件", "DDAttachment"),
]
PAYMENT_PROCESS_CODE = "PROC-9E4C1A7B-6D25-4F83-A1B7-FUKUANSHENQING"
PAYMENT_PROCESS_NAME = "付款申请"
PAYMENT_FORM = [
    ("TextareaField_2Q4E6T8U0O2A0", "付款事由", "TextareaField"),
    ("TextField_1W3R5Y7I9P1S0", "收款单位", "TextField"),
    ("TextField_0E2T4U6O8A0D0", "收款账号", "TextField"),
    ("DDSelectField_2F4H6K8Z0C2B0", "付款方式", "DDSelectField"),
    ("TableField_0G2J4L6X8V0M0", "付款明细", "TableField"),
    ("NumberField_1H3K5Z7C9B1Q0", "付款总额(分)", "NumberField"),
    ("DDAttachment_2J4L6X8V0N2W0", "附件", "DDAttachment"),
]
PAYMENT_TABLE_COLUMNS = [
    ("DDSelectField_1K3Z5C7B9M1E0", "费用明细", "DDSelectField"),
    ("NumberField_0L2X4V6N8Q0R0", "金额(分)", "NumberField"),
    ("TableField_2Z4C6B8M0W2T0", "项目分摊", "TableField"),
]
SPLIT_COLUMNS = [
    ("DDSelectField_0X2V4N6Q8E0Y0", "项目", "DDSelectField"),
    ("NumberField_1C3B5M7W9R1U0", "金额(分)", "NumberField"),
]
PAYMENT_OPTIONS = {"付款方式": ["电汇", "现金", "转账支票"], "费用明细": forms.EXPENSE_OPTIONS["费用明细"],
                   "项目": roster.PROJECTS[:-1]}
FILE_NAMES = ["发票.pdf", "合同扫描件.pdf", "付款通知书.jpg", "借款协议.pdf"]


def _template(code, name, components, columns, options):
    form = forms.template_form(components, columns, options)
    for item in form:
        for child in item.get("children", []):
            if child["componentType"] == "TableField":  # the nested table's own columns
                child["children"] = [{"id": c, "label": lab, "componentType": k} for c, lab, k in SPLIT_COLUMNS]
    template, _created = ProcessTemplate.objects.update_or_create(process_code=code,
                                                                  defaults={"name": name, "form": form})
    return template


def files(rng, count=None):
    """An attachment value: DingTalk's JSON array text of {spaceId, fileName, fileSize, fileType, fileId}."""
    count = rng.choice([1, 1, 2]) if count is None else count
    chosen = []
    for _ in range(count):
        name = rng.choice(FILE_NAMES)
        chosen.append({"spaceId": "2" + f"{rng.getrandbits(32):010d}", "fileName": name,
                       "fileSize": str(rng.randint(2000, 60000)), "fileType": name.rsplit(".", 1)[-1],
                       "fileId": str(rng.randint(10**10, 10**11))})
    return forms.dumps(chosen)


def loan_form(rng, person, amount=None):
    amount = Decimal(rng.randint(5, 200) * 100) if amount is None else Decimal(amount)
    reason, money, due, account, attachment = LOAN_FORM
    return [
        forms.component(*reason, rng.choice(["出差备用金", "项目采购备用金", "展会费用预借", "客户接待备用金"])),
        forms.component(*money, forms.money_text(amount),
                        {"upper": forms.rmb_upper(amount), "componentName": "MoneyField"}),
        forms.component(*due, "2026-12-31"),
        forms.component(*account, person.bank_account),
        forms.component(*attachment, files(rng)),
    ]


def payment_rows(rng, rows=None):
    """[[(费用明细, 金额分, [(项目, 分摊分), …]), …]] → the stored 付款明细 value and the total in 分."""
    if rows is None:
        rows = []
        for _ in range(rng.choice([1, 2, 3])):
            splits = [(rng.choice(PAYMENT_OPTIONS["项目"]), rng.randint(1000, 500000))
                      for _ in range(rng.choice([0, 1, 2]))]
            amount = sum(cents for _p, cents in splits) or rng.randint(1000, 500000)
            rows.append((rng.choice(PAYMENT_OPTIONS["费用明细"]), amount, splits))
    item, money, split = PAYMENT_TABLE_COLUMNS
    stored, total = [], 0
    for label, cents, splits in rows:
        total += cents
        nested = [[forms.table_cell(SPLIT_COLUMNS[0], project, forms.select_ext(project, PAYMENT_OPTIONS["项目"])),
                   forms.table_cell(SPLIT_COLUMNS[1], str(part))] for project, part in splits]
        stored.append([
            forms.table_cell(item, label, forms.select_ext(label, PAYMENT_OPTIONS["费用明细"])),
            forms.table_cell(money, str(cents)),
            forms.table_cell(split, forms.table_value(split[0], nested, rng) if nested
                             else forms.table_schema(SPLIT_COLUMNS)),
        ])
    return forms.table_value(PAYMENT_FORM[4][0], stored, rng), total


def payment_form(rng, rows=None):
    reason, payee, account, method, table, total_field, attachment = PAYMENT_FORM
    value, total = payment_rows(rng, rows)
    way = rng.choice(PAYMENT_OPTIONS["付款方式"])
    return [
        forms.component(*reason, rng.choice(["供应商货款", "服务费", "场地租金", "设备维修费"])),
        forms.component(*payee, rng.choice(["杭州云栖科技有限公司", "上海申联物流有限公司", "苏州精工设备有限公司"])),
        forms.component(*account, f"6222{rng.randint(10**11, 10**12 - 1)}"),
        forms.component(*method, way, forms.select_ext(way, PAYMENT_OPTIONS["付款方式"])),
        forms.component(*table, value, {"statValue": [], "componentName": "TableField"}),
        forms.component(*total_field, str(total)),
        forms.component(*attachment, files(rng)),
    ]


def templates():
    return (_template(LOAN_PROCESS_CODE, LOAN_PROCESS_NAME, LOAN_FORM, [], {}),
            _template(PAYMENT_PROCESS_CODE, PAYMENT_PROCESS_NAME, PAYMENT_FORM, PAYMENT_TABLE_COLUMNS,
                      PAYMENT_OPTIONS))


def seed(builder, count=12):
    """Loan and payment-request instances, drawn by the approval seeder's builder (its people and flow)."""
    loan, payment = templates()
    rng = random.Random(f"{builder.rng.random()}-accounting")
    rows = []
    for index in range(count * 2):
        template = loan if index % 2 == 0 else payment
        person = rng.choice(builder.people)
        instance = builder._instance(template, person, f"{person.name}提交的{template.name}")
        instance.form_values = loan_form(rng, person) if template is loan else payment_form(rng)
        rows.append(instance)
    return rows, [loan, payment]


def start_instance(template, person, form_values, *, at, approved=True):
    """An instance, finished (agreed) or running, for tests and the demo."""
    dept = person.departments.all()[0]
    return ApprovalInstance.objects.create(
        process_instance_id=str(uuid.uuid4()), template=template, title=f"{person.name}提交的{template.name}",
        status="COMPLETED" if approved else "RUNNING", result="agree" if approved else "",
        business_id=at.strftime("%Y%m%d%H%M") + f"{random.randint(0, 10**9 - 1):09d}", originator=person,
        originator_dept_id=str(dept.dept_id), originator_dept_name=dept.name, create_time=at - timedelta(hours=2),
        finish_time=at if approved else None, approver_userids=[], cc_userids=[], form_values=form_values,
        operation_records=[], tasks=[])


# ---- files ----------------------------------------------------------------------------------------


def _files_of(instance):
    import json

    for item in instance.form_values or []:
        if item.get("component_type") == "DDAttachment" and item.get("value") not in (None, "", "null"):
            yield from json.loads(item["value"])
        if item.get("component_type") == "TableField" and item.get("value") not in (None, "", "null"):
            for row in json.loads(item["value"]):
                for cell in row.get("rowValue") or [] if isinstance(row, dict) else []:
                    if cell.get("componentType") == "DDAttachment" and cell.get("value") not in (None, "", "null"):
                        value = cell["value"]
                        yield from (json.loads(value) if isinstance(value, str) else value)


def content_of(file_id, size):
    """The file's bytes: the same for the same id, `size` long."""
    seed = hashlib.sha256(str(file_id).encode()).digest()
    return (seed * (int(size) // len(seed) + 1))[: int(size)]


@api(V1, quota=True)
def download_url(request):
    p = request.params
    instance = ApprovalInstance.objects.filter(process_instance_id=p.get("processInstanceId") or "").first()
    if instance is None:
        raise Refusal("processInstanceNotExist", "审批实例不存在")
    file_id = str(p.get("fileId") or "")
    found = next((f for f in _files_of(instance) if str(f.get("fileId")) == file_id), None)
    if found is None:
        raise Refusal("invalidParameter", "fileId不存在")
    if str(found.get("fileSize") or "0") == "0":
        raise Refusal("invalidParameter", "附件文件大小不能为0")
    link = request.build_absolute_uri(reverse("sandbox_dingtalk:file", args=[file_id, found["fileSize"]]))
    return json_response({"success": True, "result": {"spaceId": found.get("spaceId", ""), "fileId": file_id,
                                                      "downloadUri": link}})


def download(request, file_id, size):
    if not str(size).isdigit():
        raise Http404(file_id)
    return HttpResponse(content_of(file_id, size), content_type="application/octet-stream")
