"""The field pickers read the sandbox's approval form schema and Kingdee form metadata over loopback HTTP."""

import pytest
from django.urls import reverse

from integrations.engine import catalog
from integrations.models import FieldMapping, Scheme
from sandbox.dingtalk.forms import TRAVEL_PROCESS_CODE
from tests.integrations.test_admin import page_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_source_picker_lists_the_templates_components_with_detail_table_columns(world):
    source, _target = catalog.of_scheme(world)
    paths = {path: caption for path, caption, _kind in source.fields}
    assert not source.note
    assert {"报销事由", "报销总额(元)", "报销明细[].报销金额(元)", "报销明细[].费用明细", "title", "originator_userid"} <= set(paths)
    assert "报销明细" not in paths  # the table itself is not a value


def test_every_component_kind_of_the_schema_is_read_the_way_instances_name_it(world):
    fields = world.source_connection and catalog.read(world.source_connection, {"process_code": TRAVEL_PROCESS_CODE})
    paths = {path: kind for path, _caption, kind in fields.fields}
    assert paths["开始时间~结束时间"] == "DDDateRangeField"  # the label instances carry for a date range
    assert paths["行程明细[].交通费(元)"] == "MoneyField"
    assert "说明" not in paths and "" not in paths  # a TextNote has no value


def test_the_target_picker_lists_kingdee_fields_with_their_captions(world):
    _source, target = catalog.of_scheme(world)
    captions = {path: caption for path, caption, _kind in target.fields}
    assert captions["FDATE"] == "业务日期" and captions["FREMARK"] == "备注"
    assert captions["FPAYBILLENTRY[].FCOSTID"] == "费用项目"
    assert target.has_target("fpaybillentry[].fcostid.FNumber") and not target.has_target("FNOPE")


def test_the_scheme_page_offers_both_lists(world, admin_client):
    page = admin_client.get(reverse("admin:integrations_scheme_change", args=[world.pk])).content.decode()
    assert '<option value="FPAYBILLENTRY[].FCOSTID">费用项目</option>' in page
    assert '<option value="报销明细[].报销金额(元)">' in page and 'list="mapping-target-fields"' in page


def save_with_row(admin_client, scheme, target):
    url = reverse("admin:integrations_scheme_change", args=[scheme.pk])
    data = page_form(admin_client.get(url))
    row = int(data["mappings-TOTAL_FORMS"])
    data["mappings-TOTAL_FORMS"] = str(row + 1)
    data.update({f"mappings-{row}-target": target, f"mappings-{row}-source": "title",
                 f"mappings-{row}-transform": "copy", f"mappings-{row}-params": "{}",
                 f"mappings-{row}-position": "999", f"mappings-{row}-scheme": str(scheme.pk)})
    return admin_client.post(url, data)


def test_a_target_key_the_form_lacks_is_refused_at_save_in_chinese(world, admin_client):
    page = save_with_row(admin_client, world, "FNOPE")
    assert page.status_code == 200 and "金蝶表单 AP_PAYBILL 中没有字段 FNOPE。" in page.content.decode()
    assert not FieldMapping.objects.filter(target="FNOPE").exists()


def test_a_target_inside_another_rows_target_is_refused_at_save(world, admin_client):
    page = save_with_row(admin_client, world, "FREMARK.X")
    assert page.status_code == 200 and "FREMARK 与 FREMARK.X 冲突：一个会写在另一个里面。" in page.content.decode()
    assert not FieldMapping.objects.filter(target="FREMARK.X").exists()


def test_a_known_target_key_is_saved(world, admin_client):
    assert save_with_row(admin_client, world, "FPURCHASEDEPTID").status_code == 302
    assert FieldMapping.objects.filter(scheme=world, target="FPURCHASEDEPTID").exists()


def test_an_unreachable_remote_degrades_to_free_text_with_a_note(world, admin_client):
    kingdee = world.target_connection
    kingdee.base_url = "http://127.0.0.1:9/k3cloud/"
    kingdee.save()
    scheme = Scheme.objects.get(pk=world.pk)
    page = admin_client.get(reverse("admin:integrations_scheme_change", args=[scheme.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "无法从“沙箱金蝶”读取 AP_PAYBILL 的字段列表" in text and "请手工填写字段" in text
    assert save_with_row(admin_client, scheme, "FANYTHING").status_code == 302  # cannot check: not refused


def test_an_unknown_process_code_is_a_note_not_an_error(world):
    found = catalog.read(world.source_connection, {"process_code": "PROC-NOPE"})
    assert "processCode不存在" in found.note and all(kind == "" for _path, _caption, kind in found.fields)


SDK_SCHEMA_ITEMS = [  # the SDK's example (reference round 2 §9.1), with a suite around two fields
    {"componentName": "TextField", "props": {"id": "TextField-K2AD4O5B", "label": "事由", "required": True}},
    {"componentName": "DDSelectField", "props": {"id": "DDSelectField-1", "label": "类型",
                                                 "options": ["{\"key\":\"option_0\",\"value\":\"差旅\"}"]}},
    {"componentName": "TableField", "props": {"id": "TableField-K2AD4O5C", "label": "明细"}, "children": [
        {"componentName": "TextField", "props": {"id": "TextField-K2AD4O5D", "label": "用途"}},
        {"componentName": "MoneyField", "props": {"id": "MoneyField-K2AD4O5E", "label": "金额"}}]},
    {"componentName": "DDBizSuite", "props": {"id": "DDBizSuite-1", "label": "出差"}, "children": [
        {"componentName": "DDDateField", "props": {"id": "DDDateField-1", "label": "出发日期"}}]},
    {"componentName": "TextNote", "props": {"id": "TextNote-1", "label": "说明"}},
    "garbage",
]


def test_the_schema_is_read_defensively():
    from integrations.clients.dingtalk import _schema_fields

    assert list(_schema_fields(SDK_SCHEMA_ITEMS)) == [
        ("事由", "事由", "TextField"), ("类型", "类型", "DDSelectField"), ("明细[].用途", "用途", "TextField"),
        ("明细[].金额", "金额", "MoneyField"), ("出发日期", "出发日期", "DDDateField")]


def test_kingdee_captions_follow_the_connections_language():
    from integrations.clients.kingdee import _caption

    assert _caption([{"Key": 1033, "Value": "Date"}, {"Key": 2052, "Value": "业务日期"}], 2052) == "业务日期"
    assert _caption([{"Key": 1033, "Value": "Date"}], 2052) == "Date" and _caption("备注", 2052) == "备注"
