import re
from decimal import Decimal

import pytest

from sandbox import roster
from sandbox.dingtalk import forms
from sandbox.dingtalk.models import ApprovalInstance, Department, Employee, ProcessTemplate
from sandbox.dingtalk.seed import seed_dingtalk
from tests.sandbox_dingtalk.helpers import INSTANCES, PEOPLE

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Department.objects.values_list("dept_id", "name", "parent_id")),
        list(Employee.objects.values_list("userid", "name", "mobile", "manager_userid")),
        list(ApprovalInstance.objects.order_by("process_instance_id").values_list(
            "process_instance_id", "status", "result", "business_id", "create_time", "form_values", "tasks")),
    )


def test_seeding_twice_gives_the_same_state_and_credentials(seeded):
    before = snapshot()
    again = seed_dingtalk(roster.employees(PEOPLE), seed=roster.DEFAULT_SEED, instances=INSTANCES, days=90)
    assert again == seeded and snapshot() == before


def test_the_credentials_have_the_documented_shapes(seeded):
    app = seeded["dingtalk"]
    assert app["corp_id"] == roster.CORP_ID and app["process_code"] == roster.EXPENSE_PROCESS_CODE
    assert re.fullmatch(r"[A-Za-z0-9]{43}", app["callback_aes_key"]) and app["agent_id"].isdigit()
    assert seeded["dingtalk_robot"]["secret"].startswith("SEC")


def test_the_org_chart_comes_from_the_roster_with_three_levels(seeded):
    assert Department.objects.count() == len(roster.departments())
    assert Department.objects.get(name="上海办事处").parent_id == Department.objects.get(name="华东大区").dept_id
    assert Employee.objects.count() == PEOPLE
    assert Employee.objects.filter(departments__isnull=False).distinct().count() == PEOPLE


def test_approvals_cover_every_status_and_fall_in_the_window(seeded):
    expense = ApprovalInstance.objects.filter(template__process_code=roster.EXPENSE_PROCESS_CODE)
    assert expense.count() == INSTANCES
    combos = set(expense.values_list("status", "result"))
    assert {("COMPLETED", "agree"), ("COMPLETED", "refuse"), ("RUNNING", "")} <= combos
    assert expense.filter(status="COMPLETED", result="agree").count() > INSTANCES / 2
    assert ApprovalInstance.objects.filter(status__in=["TERMINATED", "CANCELED"]).exists()


def test_an_expense_claim_is_encoded_as_dingtalk_does(seeded):
    for instance in ApprovalInstance.objects.filter(template__process_code=roster.EXPENSE_PROCESS_CODE):
        values = {item["name"]: item for item in instance.form_values}
        rows = __import__("json").loads(values["报销明细"]["value"])
        cells = [{c["label"]: c["value"] for c in row["rowValue"]} for row in rows]
        assert 1 <= len(rows) <= 4 and rows[0]["rowNumber"].startswith("TableField_1BDACPXDIFEO0_")
        assert {c["费用明细"] for c in cells} <= set(forms.EXPENSE_OPTIONS["费用明细"])
        assert {c["收款人"] for c in cells} == {instance.originator.name}
        assert sum(Decimal(c["报销金额(元)"]) for c in cells) == Decimal(values["报销总额(元)"]["value"])
        assert re.fullmatch(r"\d{21}", instance.business_id) and instance.title.endswith("提交的费用报销")
        assert "null" in (values["行政报销类型"]["value"], values["项目报销类型"]["value"])


def test_the_travel_template_carries_the_awkward_components(seeded):
    travel = ProcessTemplate.objects.get(process_code=forms.TRAVEL_PROCESS_CODE)
    values = [item for i in travel.approvalinstance_set.all() for item in i.form_values]
    kinds = {item["component_type"] for item in values}
    assert {"InnerContactField", "DDDateRangeField", "DDMultiSelectField", "TextNote", "DDPhotoField"} <= kinds
    tables = [item["value"] for item in values if item["component_type"] == "TableField"]
    assert any('"rowValue"' not in table for table in tables)  # an empty table returned as its schema
    assert any("emplId" in item.get("ext_value", "") for item in values)


def test_money_is_written_in_chinese_capitals():
    assert forms.rmb_upper(Decimal("150")) == "壹佰伍拾元整"
    assert forms.rmb_upper(Decimal("3522.04")) == "叁仟伍佰贰拾贰元零肆分"
    assert forms.rmb_upper(Decimal("100005.5")) == "壹拾万零伍元伍角"
    assert forms.money_text(Decimal("280.50")) == "280.5" and forms.money_text(Decimal("100")) == "100"
