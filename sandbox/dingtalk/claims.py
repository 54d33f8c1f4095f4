"""New expense claims for rehearsals and benchmarks: form values in the create format (reference §3.4),
as a DingTalk client would send them to topapi/processinstance/create."""

import json
from decimal import Decimal

from sandbox import roster
from sandbox.dingtalk import approvals, forms
from sandbox.dingtalk.models import Employee, ProcessTemplate

ITEMS = ["差旅费", "交通费", "办公费", "业务招待费"]


def expense_values(rng, person, day="2026-11-20"):
    """One to three detail rows with amounts, and the header fields of the 费用报销 template."""
    rows, total = [], Decimal(0)
    for _ in range(rng.randint(1, 3)):
        amount = Decimal(rng.randint(100, 90000)) / 100
        total += amount
        rows.append([{"name": "费用发生日期", "value": day}, {"name": "费用明细", "value": rng.choice(ITEMS)},
                     {"name": "报销金额(元)", "value": str(amount)}, {"name": "收款人", "value": person.name},
                     {"name": "收款账号", "value": person.bank_account}, {"name": "备注说明", "value": ""}])
    return [
        {"name": "报销类别", "value": "行政报销"}, {"name": "行政报销类型", "value": "差旅出行"},
        {"name": "费用归属项目", "value": "无"}, {"name": "报销事由", "value": "客户拜访差旅"},
        {"name": "报销明细", "value": json.dumps(rows, ensure_ascii=False)},
        {"name": "报销总额(元)", "value": str(total)},
    ]


def create_expense_claims(people, count, rng):
    """`count` running 费用报销 instances, originators taken in turn from `people` (Employee rows)."""
    template = ProcessTemplate.objects.get(process_code=roster.EXPENSE_PROCESS_CODE)
    created = []
    for index in range(count):
        person = people[index % len(people)]
        values = forms.stored_values(template.form, expense_values(rng, person), rng)
        approver = person.manager_userid or Employee.objects.filter(admin=True).values_list("userid", flat=True)[0]
        created.append(approvals.start(template, person, person.departments.all()[0], values, [approver]))
    return created
