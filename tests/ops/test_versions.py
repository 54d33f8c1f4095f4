"""Scheme versions: one per committed change, who and what, and an exact restore."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse

from integrations import market, versions
from integrations.models import FieldMapping, Scheme, SchemeVersion, ValueMap, ValueMapEntry
from tests.integrations.test_admin import page_form
from tests.integrations.fakes import PROCESS_CODE


@pytest.fixture
def versioned(dingtalk_connection, kingdee_connection, committed):
    with committed():
        return market.create_scheme(market.DEFAULT, source_connection=dingtalk_connection,
                                    target_connection=kingdee_connection, process_code=PROCESS_CODE)


def edit_in_admin(client, scheme, committed, change):
    url = reverse("admin:integrations_scheme_change", args=[scheme.pk])
    form = page_form(client.get(url))
    change(form)
    with committed():
        response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[-3000:]


def row_index(form, target):
    return next(i for i in range(int(form["mappings-TOTAL_FORMS"])) if form[f"mappings-{i}-target"] == target)


def test_creating_a_scheme_from_a_template_is_its_first_version(versioned):
    [first] = versioned.versions.all()
    assert first.number == 1 and first.action == SchemeVersion.Action.CREATED
    assert first.snapshot == versions.snapshot(versioned)
    rows = len(market.get(market.DEFAULT)["mappings"])
    assert versions.describe(first.changes[0]) == f"首个版本：{rows} 行字段映射，2 个值映射。"


def test_an_admin_save_makes_one_version_with_who_and_a_readable_diff(it_client, it_user, versioned, committed):
    def change(form):
        row = row_index(form, "FDATE")
        form[f"mappings-{row}-transform"] = "copy"
        form[f"mappings-{row}-params"] = "{}"
        form["batch_size"] = "20"

    edit_in_admin(it_client, versioned, committed, change)
    latest = versioned.versions.first()
    assert latest.number == 2 and latest.created_by == it_user
    described = [versions.describe(change) for change in latest.changes]
    assert "批量大小：50 → 20" in described
    assert any(text.startswith("字段映射 FDATE：") and "日期 → 复制" in text for text in described)


def test_a_save_that_changes_nothing_makes_no_version(it_client, versioned, committed):
    edit_in_admin(it_client, versioned, committed, lambda form: None)
    assert versioned.versions.count() == 1


def test_a_value_map_edit_is_a_version_of_its_scheme(versioned, committed):
    items = ValueMap.objects.get(scheme=versioned, name="费用明细→金蝶费用项目")
    with committed():
        ValueMapEntry.objects.create(value_map=items, source_value="团建费", target_value="FYXM01_SYS")
    [change] = versioned.versions.first().changes
    assert versions.describe(change) == "值映射“费用明细→金蝶费用项目”：新增 团建费 → FYXM01_SYS"


def test_restoring_an_earlier_version_brings_back_settings_rows_and_value_maps_exactly(versioned, committed, it_user):
    original = versions.snapshot(versioned)
    with committed():
        FieldMapping.objects.filter(scheme=versioned, target="FREMARK").update(source="报销明细[].备注说明")
        FieldMapping.objects.filter(scheme=versioned, target="FCOMMENT").delete()
        FieldMapping.objects.create(scheme=versioned, position=999, target="FNOTE", source="title")
        ValueMap.objects.get(scheme=versioned, name="钉钉部门→金蝶部门").delete()
        ValueMapEntry.objects.filter(source_value="差旅费").update(target_value="FYXM99")
        Scheme.objects.get(pk=versioned.pk).save()  # the bulk updates above send no signal; a save does
        scheme = Scheme.objects.get(pk=versioned.pk)
        scheme.batch_size, scheme.description = 7, "临时修改"
        scheme.save()
    assert versions.snapshot(versioned) != original

    with committed():
        versions.restore(versioned.versions.get(number=1), it_user)

    assert versions.snapshot(Scheme.objects.get(pk=versioned.pk)) == original
    latest = versioned.versions.first()
    assert (latest.action, latest.restored_from, latest.created_by) == ("restored", 1, it_user)
    assert latest.snapshot == original


def test_it_restores_from_the_history_page_and_logs_who_did(it_client, it_user, versioned, committed):
    with committed():
        FieldMapping.objects.filter(scheme=versioned, target="FREMARK").delete()
    history = it_client.get(reverse("admin:integrations_scheme_versions", args=[versioned.pk])).content.decode()
    assert "v2" in history and "删除字段映射 FREMARK" in history and "查看 / 恢复" in history
    url = reverse("admin:integrations_scheme_version", args=[versioned.pk, 1])
    preview = it_client.get(url).content.decode()
    assert "新增字段映射 FREMARK" in preview and "恢复到版本 1" in preview
    with committed():
        it_client.post(url)
    assert FieldMapping.objects.filter(scheme=versioned, target="FREMARK").exists()
    assert LogEntry.objects.get(object_id=str(versioned.pk)).user == it_user


def test_finance_may_neither_read_the_history_nor_restore(finance_client, versioned, committed):
    with committed():
        FieldMapping.objects.filter(scheme=versioned, target="FREMARK").delete()
    url = reverse("admin:integrations_scheme_version", args=[versioned.pk, 1])
    page = finance_client.get(url)
    assert page.status_code == 403 and "恢复到版本" not in page.content.decode()
    assert finance_client.post(url).status_code == 403
    assert not FieldMapping.objects.filter(scheme=versioned, target="FREMARK").exists()


def test_load_template_records_the_first_version(dingtalk_connection, kingdee_connection, committed):
    with committed():
        call_command("load_template", "--source", dingtalk_connection.name, "--target", kingdee_connection.name,
                     "--name", "命令行方案", stdout=open("/dev/null", "w"))
    assert Scheme.objects.get(name="命令行方案").versions.get().action == SchemeVersion.Action.CREATED
