"""The new-scheme wizard against the sandboxes: source, target, mapping, then the preview of a real record."""

import pytest
from django.urls import reverse

from integrations import market
from integrations.models import Scheme
from sandbox import roster

pytestmark = pytest.mark.django_db(transaction=True)


def step(name):
    return reverse("admin:integrations_scheme_wizard", args=[name])


def answer_source_and_target(client, world, template="", name="向导方案"):
    page = client.post(step("source"), {
        "template": template, "name": name, "source_connection": world.source_connection.pk,
        "source_kind": "dingtalk.approval",
        "source_params__dingtalk.approval__process_code": roster.EXPENSE_PROCESS_CODE})
    assert page.status_code == 302 and page["Location"] == step("target")
    page = client.post(step("target"), {
        "target_connection": world.target_connection.pk, "target_kind": "kingdee.save",
        "target_params__kingdee.save__form_id": "AP_PAYBILL", "target_params__kingdee.save__verify_base_data": "1",
        "dedupe_field": "FTHIRDBILLNO"})
    assert page.status_code == 302 and page["Location"] == step("mapping")
    return client.get(step("mapping"))


def posted_rows(page, **changes):
    formset = page.context["formset"]
    data = {f"rows-{key}": value for key, value in formset.management_form.initial.items()}
    for form in formset.forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value not in (None, False, ""):
                data[form.add_prefix(name)] = "on" if value is True else value
    data.update(changes)
    return data


def test_a_blank_scheme_gets_rows_suggested_by_matching_captions_and_ends_on_a_real_record(world, admin_client):
    page = answer_source_and_target(admin_client, world)
    text = page.content.decode()
    suggested = {(form.initial.get("target"), form.initial.get("source")) for form in page.context["formset"].forms}
    assert ("FPAYBILLENTRY[].FCOSTID", "报销明细[].费用明细") in suggested  # 费用项目 ~ 费用明细
    assert ("FPAYBILLENTRY[].FCOMMENT", "报销明细[].备注说明") in suggested  # 备注 inside 备注说明
    assert "审批模板的 20 个字段和金蝶表单的" in text
    answer = admin_client.post(step("mapping"), posted_rows(page))
    scheme = Scheme.objects.get(name="向导方案")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:integrations_scheme_preview", args=[scheme.pk]) + "?key="
    assert scheme.rehearsal and scheme.source_params == {"process_code": roster.EXPENSE_PROCESS_CODE}
    assert scheme.mappings.filter(target="FPAYBILLENTRY[].FCOSTID", source="报销明细[].费用明细").exists()
    preview = admin_client.get(answer["Location"]).content.decode()
    assert "报销明细[1].费用明细" in preview and "FPAYBILLENTRY[1].FCOSTID" in preview


def test_a_template_brings_its_rows_and_value_maps(world, admin_client):
    page = answer_source_and_target(admin_client, world, template=market.DEFAULT, name="模板方案")
    template = market.get(market.DEFAULT)
    assert len([f for f in page.context["formset"].forms if f.initial.get("use")]) == len(template["mappings"])
    assert admin_client.post(step("mapping"), posted_rows(page)).status_code == 302
    scheme = Scheme.objects.get(name="模板方案")
    assert scheme.mappings.count() == len(template["mappings"])
    assert scheme.value_maps.count() == len(template["value_maps"])


def test_a_row_the_kingdee_form_lacks_is_refused_and_nothing_is_created(world, admin_client):
    page = answer_source_and_target(admin_client, world, name="坏方案")
    blank = len(page.context["formset"].forms) - 1
    data = posted_rows(page, **{f"rows-{blank}-use": "on", f"rows-{blank}-target": "FNOPE",
                                f"rows-{blank}-source": "title"})
    answer = admin_client.post(step("mapping"), data)
    assert answer.status_code == 200 and "金蝶表单 AP_PAYBILL 中没有字段 FNOPE。" in answer.content.decode()
    assert not Scheme.objects.filter(name="坏方案").exists()


def test_the_wizard_starts_over_without_its_first_answers(admin_client, db):
    assert admin_client.get(step("mapping"))["Location"] == step("source")
    assert admin_client.get(step("nonsense")).status_code == 404
