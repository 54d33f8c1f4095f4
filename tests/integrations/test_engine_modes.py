"""Master data and messages through the one booking loop: upsert of changed fields only, no call for what did not
change, disable instead of delete, parents first, conflicts for a person; messages once per key."""

import pytest

from integrations import engine
from integrations.models import FieldMapping, Scheme, SyncRecord, SyncRun
from tests.integrations import mode_fakes
from tests.integrations.mode_fakes import Directory, Remote, Store

Status = SyncRecord.Status


@pytest.fixture
def remotes(monkeypatch):
    Remote.directory, Remote.store, Remote.sent = Directory(), Store(), []
    monkeypatch.setattr("integrations.engine.client_for", lambda connection: None)
    return Remote


def make_scheme(dingtalk_connection, kingdee_connection, target_kind, batch_size=10):
    scheme = Scheme.objects.create(
        name=f"test {target_kind}", source_kind=mode_fakes.DirectorySource.kind, target_kind=target_kind,
        source_connection=dingtalk_connection, target_connection=kingdee_connection, batch_size=batch_size)
    for position, name in enumerate(["name", "parent"]):
        FieldMapping.objects.create(scheme=scheme, position=position, target=name, source=name)
    return scheme


@pytest.fixture
def master(dingtalk_connection, kingdee_connection, remotes):
    return make_scheme(dingtalk_connection, kingdee_connection, mode_fakes.StoreTarget.kind)


def record(scheme, key):
    return SyncRecord.objects.get(scheme=scheme, source_key=key)


def test_master_data_is_created_once_and_an_unchanged_record_costs_no_call_at_all(master, remotes):
    remotes.directory.records = {"d1": {"name": "财务部"}, "d2": {"name": "销售部"}}

    first = engine.run_scheme(master.pk)
    calls = dict(remotes.store.calls)
    second = engine.run_scheme(master.pk)

    assert first.succeeded_count == 2 and {key: r["fields"]["name"] for key, r in remotes.store.records.items()} == {
        "d1": "财务部", "d2": "销售部"}
    assert remotes.store.calls == calls  # nothing found, planned or written the second time
    assert second.status == SyncRun.Status.SUCCEEDED and record(master, "d1").fingerprint


def test_a_changed_field_is_written_alone_to_the_existing_record(master, remotes):
    remotes.directory.records = {"d1": {"name": "财务部", "parent": ""}}
    engine.run_scheme(master.pk)

    remotes.directory.records["d1"]["name"] = "财务中心"
    engine.run_scheme(master.pk)

    assert remotes.store.writes[-1] == ("d1", {"name": "财务中心"})
    assert remotes.store.records["d1"]["fields"]["name"] == "财务中心" and len(remotes.store.records) == 1
    assert record(master, "d1").synced_state["target"]["name"] == "财务中心"


def test_a_record_gone_at_the_source_is_disabled_not_deleted_and_only_once(master, remotes):
    remotes.directory.records = {"u1": {"name": "张伟"}, "u2": {"name": "李娜"}}
    engine.run_scheme(master.pk)
    del remotes.directory.records["u2"]
    remotes.directory.gone = {"u2"}

    engine.run_scheme(master.pk)
    removals = remotes.store.calls["remove"]
    engine.run_scheme(master.pk)

    assert remotes.store.records["u2"]["enabled"] is False and "u2" in remotes.store.records
    assert removals == 1 and remotes.store.calls["remove"] == 1
    assert record(master, "u2").status == Status.SUCCEEDED


def test_a_parent_is_written_before_its_children_even_when_listed_after_them(master, remotes):
    remotes.directory.records = {"child": {"name": "核算组", "parent": "root"}, "root": {"name": "财务部"}}

    engine.run_scheme(master.pk)

    assert [key for key, _fields in remotes.store.writes] == ["root", "child"]
    assert {r.status for r in SyncRecord.objects.filter(scheme=master)} == {Status.SUCCEEDED}


def test_a_record_whose_parent_failed_waits_with_that_reason_and_is_written_once_the_parent_is(master, remotes):
    remotes.directory.records = {"root": {"name": "财务部"}, "child": {"name": "核算组", "parent": "root"}}
    remotes.store.refuse = {"root"}

    engine.run_scheme(master.pk)

    waiting = record(master, "child")
    assert record(master, "root").status == Status.FAILED and record(master, "root").reason_code == "target_refused"
    assert waiting.status == Status.WAITING and waiting.reason_code == "dependency"
    assert waiting.reason_params == {"keys": ["root"]} and "child" not in remotes.store.records

    remotes.store.refuse = set()
    engine.run_scheme(master.pk)

    assert record(master, "child").status == Status.SUCCEEDED and "child" in remotes.store.records


def test_a_field_changed_on_both_sides_is_a_conflict_kept_for_a_person(master, remotes, admin_user):
    remotes.directory.records = {"u1": {"name": "张伟"}}
    engine.run_scheme(master.pk)
    remotes.store.records["u1"]["fields"]["name"] = "张伟(财务)"  # edited by hand in the target
    remotes.directory.records["u1"]["name"] = "张伟伟"

    engine.run_scheme(master.pk)

    conflict = record(master, "u1")
    assert conflict.status == Status.CONFLICT and conflict.reason_code == "conflict"
    assert conflict.reason_params["fields"]["name"] == {"source": "张伟伟", "target": "张伟(财务)", "written": "张伟"}
    assert conflict.synced_state["target"]["name"] == "张伟"
    engine.run_scheme(master.pk)
    assert record(master, "u1").status == Status.CONFLICT  # a person decides, not the next run

    assert engine.resolve_conflicts([conflict.pk], keep="source", user=admin_user, note="以钉钉为准") == 1
    engine.retry_records([conflict.pk])

    assert remotes.store.records["u1"]["fields"]["name"] == "张伟伟"
    resolved = record(master, "u1")
    assert resolved.status == Status.SUCCEEDED and resolved.note == "以钉钉为准" and resolved.handled_by == admin_user


def test_keeping_the_targets_value_stops_the_portal_writing_that_field(master, remotes, admin_user):
    remotes.directory.records = {"u1": {"name": "张伟"}}
    engine.run_scheme(master.pk)
    remotes.store.records["u1"]["fields"]["name"] = "张伟(财务)"
    remotes.directory.records["u1"]["name"] = "张伟伟"
    engine.run_scheme(master.pk)

    engine.resolve_conflicts([record(master, "u1").pk], keep="target", user=admin_user, note="以金蝶为准")
    engine.retry_records([record(master, "u1").pk])
    engine.run_scheme(master.pk)

    assert remotes.store.records["u1"]["fields"]["name"] == "张伟(财务)"
    assert record(master, "u1").status == Status.SUCCEEDED


def test_a_batch_lost_on_the_wire_is_compared_again_next_run(master, remotes):
    remotes.directory.records = {"u1": {"name": "张伟"}}
    remotes.store.fail_next = 1

    engine.run_scheme(master.pk)
    assert record(master, "u1").status == Status.PENDING
    engine.run_scheme(master.pk)

    assert record(master, "u1").status == Status.SUCCEEDED and len(remotes.store.writes) == 1


def test_a_message_is_sent_once_per_key_and_never_searched_for(dingtalk_connection, kingdee_connection, remotes):
    scheme = make_scheme(dingtalk_connection, kingdee_connection, mode_fakes.MessageTarget.kind)
    remotes.directory.records = {"stock-M1-2026-11-29": {"name": "M1 低于安全库存"}}

    engine.run_scheme(scheme.pk)
    engine.run_scheme(scheme.pk)

    assert remotes.sent == ["stock-M1-2026-11-29"]
    assert record(scheme, "stock-M1-2026-11-29").status == Status.SUCCEEDED


def test_a_message_lost_on_the_wire_is_sent_on_the_next_run(dingtalk_connection, kingdee_connection, remotes):
    scheme = make_scheme(dingtalk_connection, kingdee_connection, mode_fakes.MessageTarget.kind)
    remotes.directory.records = {"report-2026-11-29": {"name": "日报"}}
    remotes.store.fail_next = 1

    engine.run_scheme(scheme.pk)
    engine.run_scheme(scheme.pk)

    assert remotes.sent == ["report-2026-11-29"]


def test_finance_decides_a_conflict_from_the_review_list_and_it_is_logged(master, remotes, admin_client, q_sync,
                                                                         django_capture_on_commit_callbacks):
    from django.contrib.admin.models import LogEntry
    from django.urls import reverse

    remotes.directory.records = {"u1": {"name": "张伟"}}
    engine.run_scheme(master.pk)
    remotes.store.records["u1"]["fields"]["name"] = "张伟(财务)"
    remotes.directory.records["u1"]["name"] = "张伟伟"
    engine.run_scheme(master.pk)
    conflict = record(master, "u1")
    listing = admin_client.get(reverse("admin:integrations_reviewrecord_changelist"))
    assert conflict.title in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:integrations_reviewrecord_changelist"),
                          {"action": "keep_target", "_selected_action": [conflict.pk]})

    assert record(master, "u1").status == Status.SUCCEEDED and remotes.store.records["u1"]["fields"]["name"] == "张伟(财务)"
    assert LogEntry.objects.filter(object_id=str(conflict.pk)).exists()
