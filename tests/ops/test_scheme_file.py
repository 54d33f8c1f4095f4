"""Export a scheme to one JSON file and import it into another portal: dry run, clear errors, same payloads."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django_q.models import Schedule

from integrations import engine, scheme_file, versions
from integrations.models import (Connection, FieldMapping, Scheme, SchemeVersion, SyncRecord, SyncRun, ValueMap,
                                 ValueMapEntry)
from tests.integrations.fakes import FakeKingdee, claim
from tests.integrations.test_engine import recent

CLAIMS = [("a", (("差旅费", "1000.50"), ("交通费", "80"))), ("b", (("团建费", "320"),)), ("c", (("办公费", "19.9"),))]


def claims():
    return [claim(key, created=recent(10 - n), items=items) for n, (key, items) in enumerate(CLAIMS)]


@pytest.fixture
def tuned(scheme, committed):
    """The template plus what IT added on the test portal: a value, a row, a schedule and a robot."""
    with committed():
        items = ValueMap.objects.get(scheme=scheme, name="费用明细→金蝶费用项目")
        ValueMapEntry.objects.create(value_map=items, source_value="团建费", target_value="FYXM01_SYS", note="按办公费")
        FieldMapping.objects.filter(scheme=scheme, target="FREMARK").update(transform="template", params={
            "template": "{title}（{business_id}）"})
        scheme.batch_size, scheme.interval_minutes = 20, 15
        scheme.alert_connection = Connection.objects.create(
            name="财务群机器人", kind="dingtalk_robot", base_url="http://127.0.0.1:9/", robot_token="tok-secret-1",
            robot_secret="SECsecret-value")
        scheme.save()
    return scheme


def payloads(scheme):
    return {record.source_key: record.payload for record in SyncRecord.objects.filter(scheme=scheme)}


def fresh_portal():
    """Nothing of the first portal is left but its people: connections are made again, by hand, with the same
    names and other ids and secrets, as IT does on the production portal."""
    SyncRecord.objects.all().delete()
    SyncRun.objects.all().delete()
    Scheme.objects.all().delete()
    Schedule.objects.all().delete()
    Connection.objects.all().delete()
    Connection.objects.create(name="钉钉", kind="dingtalk", base_url="http://127.0.0.1:9/",
                              api_base_url="http://127.0.0.1:9/", app_key="prod-key", app_secret="prod-secret",
                              corp_id="prod-corp")
    Connection.objects.create(name="金蝶", kind="kingdee", base_url="http://127.0.0.1:9/k3cloud/", acct_id="prod",
                              username="prod", app_id="prod_app", app_secret="prod-secret")
    Connection.objects.create(name="财务群机器人", kind="dingtalk_robot", base_url="http://127.0.0.1:9/",
                              robot_token="prod-token")


def test_the_file_holds_settings_rows_and_value_maps_with_connections_by_name_and_no_secret(tuned):
    text = scheme_file.dumps(tuned)
    data = json.loads(text)
    assert data["format"] == "dingtalk-kingdee-portal/scheme" and data["settings"]["batch_size"] == 20
    assert data["connections"]["alert_connection"] == {"name": "财务群机器人", "kind": "dingtalk_robot"}
    assert data["settings"]["source_connection"] == "钉钉" and len(data["mappings"]) == tuned.mappings.count()
    items = next(spec for spec in data["value_maps"] if spec["name"] == "费用明细→金蝶费用项目")
    assert {"source": "团建费", "target": "FYXM01_SYS", "note": "按办公费"} in items["entries"]
    for secret in ("secret", "tok-secret-1", "SECsecret-value"):
        assert f'"{secret}"' not in text


def test_an_exported_scheme_imported_into_a_fresh_portal_runs_and_produces_identical_payloads(tuned, remote):
    remote.dingtalk.add(*claims())
    engine.run_scheme(tuned.pk)
    before = payloads(tuned)
    assert len(before) == 3 and all(before.values())
    text = scheme_file.dumps(tuned)

    fresh_portal()
    plan = scheme_file.load(scheme_file.parse(text))
    remote.kingdee = FakeKingdee()
    run = engine.run_scheme(plan.scheme.pk)

    assert run.status == SyncRun.Status.SUCCEEDED and run.succeeded_count == 3
    assert plan.scheme.pk != tuned.pk and plan.scheme.source_connection.app_key == "prod-key"
    assert payloads(plan.scheme) == before
    assert [bill["model"] for bill in remote.kingdee.bills] == [before[key] for key, _items in CLAIMS]


def test_a_dry_run_checks_everything_and_saves_nothing(tuned):
    text = scheme_file.dumps(tuned)
    fresh_portal()
    plan = scheme_file.load(scheme_file.parse(text), dry_run=True)
    assert plan.scheme is None and plan.existing is None and plan.mappings == len(json.loads(text)["mappings"])
    assert not Scheme.objects.exists() and not Schedule.objects.exists() and not SchemeVersion.objects.exists()


def test_importing_over_a_scheme_of_the_same_name_updates_it_and_lists_the_changes(tuned, committed):
    text = scheme_file.dumps(tuned)
    with committed():
        FieldMapping.objects.filter(scheme=tuned, target="FREMARK").delete()
        Scheme.objects.get(pk=tuned.pk).save()
    plan = scheme_file.load(scheme_file.parse(text), dry_run=True)
    assert plan.existing == tuned and any(change.startswith("新增字段映射 FREMARK") for change in plan.changes)
    with committed():
        scheme_file.load(scheme_file.parse(text))
    assert FieldMapping.objects.get(scheme=tuned, target="FREMARK").transform == "template"
    assert tuned.versions.first().action == SchemeVersion.Action.IMPORTED


@pytest.mark.parametrize("text, message", [
    ("{not json", "文件不是有效的 JSON"),
    ('{"name": "x"}', "这不是从集成门户导出的方案文件"),
    ('{"format": "dingtalk-kingdee-portal/scheme", "format_version": 9}', "更新版本的门户导出（格式 9）"),
])
def test_a_broken_file_is_refused_in_plain_chinese(db, text, message):
    with pytest.raises(Exception) as refused:
        scheme_file.parse(text)
    assert message in " ".join(refused.value.messages)


def test_a_missing_connection_or_a_bad_row_is_named(tuned):
    data = scheme_file.export(tuned)
    Connection.objects.filter(name="财务群机器人").update(name="别的机器人")
    with pytest.raises(Exception) as refused:
        scheme_file.load(data, dry_run=True)
    assert "本门户没有名为“财务群机器人”的连接（告警机器人）。请先创建同名连接" in refused.value.messages[0]

    Connection.objects.filter(name="别的机器人").update(name="财务群机器人")
    data["mappings"][0]["transform"] = "teleport"
    with pytest.raises(Exception) as refused:
        scheme_file.load(data, dry_run=True)
    assert refused.value.messages[0].startswith(f"字段映射 {data['mappings'][0]['target']}，转换：")


def test_a_connection_of_another_kind_is_refused(tuned):
    text = scheme_file.dumps(tuned)
    Connection.objects.filter(name="财务群机器人").delete()
    Connection.objects.create(name="财务群机器人", kind="kingdee", base_url="http://127.0.0.1:9/k3cloud/",
                              acct_id="a", username="u", app_id="i", app_secret="s")
    with pytest.raises(Exception) as refused:
        scheme_file.parse(text)
    assert "本门户的连接“财务群机器人”是金蝶云星空，但方案需要的是钉钉群机器人" in refused.value.messages[0]


def test_it_exports_and_imports_through_the_admin_with_a_dry_run_first(it_client, tuned, committed):
    response = it_client.get(reverse("admin:integrations_scheme_export", args=[tuned.pk]))
    assert response["Content-Disposition"].startswith("attachment; filename*=UTF-8''scheme-")
    text = response.content.decode()
    fresh_portal()
    url = reverse("admin:integrations_scheme_import")
    upload = SimpleUploadedFile("scheme.json", text.encode(), content_type="application/json")
    preview = it_client.post(url, {"file": upload}).content.decode()
    assert "试运行：尚未保存任何内容" in preview and "将新建方案" in preview and not Scheme.objects.exists()
    with committed():
        done = it_client.post(url, {"content": text, "confirm": "1"})
    scheme = Scheme.objects.get()
    assert done.status_code == 302 and done["Location"].endswith(f"/{scheme.pk}/change/")
    assert versions.snapshot(scheme)["mappings"] == json.loads(text)["mappings"]
    assert scheme.versions.get().action == SchemeVersion.Action.IMPORTED


def test_the_import_page_names_the_problem(it_client, tuned):
    upload = SimpleUploadedFile("scheme.json", b"{oops", content_type="application/json")
    text = it_client.post(reverse("admin:integrations_scheme_import"), {"file": upload}).content.decode()
    assert "该文件无法导入" in text and "文件不是有效的 JSON" in text


def test_the_commands_export_and_import_a_scheme(tuned, tmp_path, capsys):
    path = tmp_path / "scheme.json"
    call_command("export_scheme", tuned.name, "-o", str(path))
    call_command("import_scheme", str(path), "--dry-run")
    assert "would update" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No scheme named"):
        call_command("export_scheme", "没有这个方案")
