"""Changes both ways under the signed master rule: pushes, put-backs (logged), conflicts for a person, removals
that forbid or flag, and a second run that writes nothing."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from integrations import engine, reasons
from integrations.customers import rules
from integrations.models import FieldChange, SyncRecord, SyncRun
from portal.roles import FINANCE, IT_ADMIN, sync_roles
from sandbox.dingtalk.models import CrmCustomer
from tests.customers.helpers import first_matching, kingdee_customers, kingdee_save, pairs, run, writes

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status
NEW = {"FCreateOrgId": {"FNumber": "100"}, "FTRADINGCURRID": {"FNumber": "PRE001"}}


@pytest.fixture
def paired(world):
    """One customer on both sides, paired; returns (scheme, DingTalk instance id, Kingdee number)."""
    made = world.crm("create", owner=world.sellers[0][0], data={
        "customer_name": "宁波双向科技有限公司", "short_name": "双向科技", "credit_code": "91330200MA2TWO0001",
        "phone": "0574-1", "address": "宁波", "customer_type": "普通客户"})
    scheme = world.scheme()
    first_matching(scheme)
    return scheme, made["instanceId"], pairs(scheme)[made["instanceId"]]


def crm(key):
    return CrmCustomer.objects.get(instance_id=key)


def customer(number):
    return kingdee_customers()[number]


def user(name, role):
    sync_roles()
    person = User.objects.create_user(name, password="x", is_staff=True)
    person.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=person.pk)  # fresh: permissions are cached per instance


def test_changes_reach_the_other_side_and_a_second_run_writes_nothing(world, paired):
    scheme, key, number = paired
    assert customer(number).model["FTEL"] == "0574-1" and customer(number).model["FSELLER"] == {
        "FNumber": world.sellers[0][1]}
    world.crm("update", instanceId=key, data={"phone": "0574-2"})  # DingTalk is master of the phone
    kingdee_save(world, customer(number), FName="宁波双向科技股份有限公司")  # Kingdee is master of the name
    changed = run(scheme)
    quiet = run(scheme)

    assert customer(number).model["FTEL"] == "0574-2"
    assert crm(key).data["customer_name"] == "宁波双向科技股份有限公司"
    assert changed.stats["twoway"]["to_kingdee"] == changed.stats["twoway"]["to_dingtalk"] == 1
    assert writes(quiet) == {} and quiet.stats["twoway"]["to_kingdee"] == 0
    pushes = FieldChange.objects.filter(scheme=scheme, kind=FieldChange.Kind.PUSH)
    assert {(c.side, c.field, c.after) for c in pushes} >= {("kingdee", "FTEL", "0574-2"),
                                                            ("dingtalk", "FName", "宁波双向科技股份有限公司")}


def test_a_non_master_edit_is_put_back_and_logged(world, paired, client, it_user):
    scheme, key, number = paired
    kingdee_save(world, customer(number), FTEL="021-0000")  # DingTalk owns the phone
    world.crm("update", instanceId=key, data={"customer_name": "钉钉里改的名字"})  # Kingdee owns the name
    run(scheme)

    assert customer(number).model["FTEL"] == "0574-1"
    assert crm(key).data["customer_name"] == "宁波双向科技有限公司"
    logged = {(c.side, c.field, c.before, c.after) for c in FieldChange.objects.filter(
        scheme=scheme, kind=FieldChange.Kind.PUT_BACK)}
    assert logged == {("kingdee", "FTEL", "021-0000", "0574-1"),
                      ("dingtalk", "FName", "钉钉里改的名字", "宁波双向科技有限公司")}
    assert writes(run(scheme)) == {}
    client.force_login(it_user)
    page = client.get(f"/admin/integrations/fieldchange/?scheme__id__exact={scheme.pk}&kind__exact=put_back")
    assert page.status_code == 200 and "021-0000" in page.content.decode() and "钉钉里改的名字" in page.content.decode()


def test_with_queue_a_non_master_edit_waits_for_a_person(world, paired):
    scheme, key, number = paired
    scheme.target_params = {**scheme.target_params, "on_violation": "queue"}
    scheme.save()
    kingdee_save(world, customer(number), FTEL="021-0000")
    run(scheme)

    record = SyncRecord.objects.get(scheme=scheme, source_key=key)
    assert record.status == Status.CONFLICT and record.reason_code == "non_master_edit"
    assert record.reason_params["fields"]["FTEL"]["suggestion"] == "source"
    assert customer(number).model["FTEL"] == "021-0000"  # held, not put back
    assert FieldChange.objects.filter(scheme=scheme, kind=FieldChange.Kind.QUEUED, field="FTEL").exists()

    engine.resolve_conflicts([record.pk], keep="target", user=None, note="金蝶的电话是对的")
    run(scheme)
    assert crm(key).data["phone"] == "021-0000" and customer(number).model["FTEL"] == "021-0000"
    assert SyncRecord.objects.get(pk=record.pk).status == Status.SUCCEEDED
    assert writes(run(scheme)) == {}


def test_both_sides_changed_is_a_conflict_decided_singly_or_in_bulk(world, paired, client, it_user):
    scheme, key, number = paired
    other = world.crm("create", owner=world.sellers[1][0], data={"customer_name": "第二家冲突公司", "short_name": "二"})
    run(scheme)

    second = pairs(scheme)[other["instanceId"]]
    for instance, num, (dingtalk_value, kingdee_value) in ((key, number, ("钉钉简称", "金蝶简称")),
                                                           (other["instanceId"], second, ("钉钉二", "金蝶二"))):
        world.crm("update", instanceId=instance, data={"short_name": dingtalk_value})
        kingdee_save(world, customer(num), FShortName=kingdee_value)
    run(scheme)

    first, bulk = (SyncRecord.objects.get(scheme=scheme, source_key=k) for k in (key, other["instanceId"]))
    assert first.status == bulk.status == Status.CONFLICT and first.reason_code == "twoway_conflict"
    values = first.reason_params["fields"]["FShortName"]
    assert (values["source"], values["target"], values["synced"]) == ("钉钉简称", "金蝶简称", "双向科技")
    assert values["suggestion"] == "source"  # DingTalk is master of the short name: the rule suggests its value
    assert customer(number).model["FShortName"] == "金蝶简称" and crm(key).data["short_name"] == "钉钉简称"

    client.force_login(it_user)
    page = client.get(f"/admin/integrations/reviewrecord/{first.pk}/change/")
    assert "钉钉“钉钉简称”，金蝶“金蝶简称”（按主从规则建议：保留钉钉的）" in page.content.decode()
    client.post(f"/admin/integrations/reviewrecord/{first.pk}/keep/kingdee/")  # on the record's page
    run(scheme)
    assert crm(key).data["short_name"] == "金蝶简称"
    client.post("/admin/integrations/reviewrecord/", {"action": "keep_source", "_selected_action": [bulk.pk]})
    run(scheme)
    assert customer(second).model["FShortName"] == "钉钉二"
    assert not SyncRecord.objects.filter(scheme=scheme, status=Status.CONFLICT).exists()
    assert writes(run(scheme)) == {}


def test_customers_are_never_deleted_removal_forbids_or_flags(world, paired):
    scheme, key, number = paired
    other = world.crm("create", data={"customer_name": "金蝶里禁用的客户"})
    run(scheme)

    other_number = pairs(scheme)[other["instanceId"]]
    world.crm("delete", instanceId=key)
    world.kingdee_client().forbid("BD_Customer", [other_number])
    run(scheme)
    quiet = run(scheme)

    assert customer(number).forbidden  # still there, forbidden
    flagged = crm(other["instanceId"])
    assert not flagged.deleted and flagged.data["kingdee_status"] == "金蝶已禁用"
    kinds = set(FieldChange.objects.filter(scheme=scheme).values_list("kind", flat=True))
    assert {FieldChange.Kind.FORBID, FieldChange.Kind.FLAG} <= kinds
    assert writes(quiet) == {}


def test_only_it_signs_rules_and_the_history_shows_who_and_when(world, paired):
    scheme, _key, _number = paired
    it, finance = user("it", IT_ADMIN), user("finance", FINANCE)
    versions = scheme.versions.count()
    with pytest.raises(PermissionDenied):
        rules.decide(scheme, {"FTEL": "kingdee"}, user=finance)

    made = rules.decide(scheme, {"FTEL": "kingdee", "FADDRESS": "newest"}, user=it, note="三方会议")
    again = rules.decide(scheme, {"FTEL": "kingdee"}, user=it)

    assert [r.field for r in made] == ["FTEL"] and again == []  # FADDRESS was signed newest already
    scheme.refresh_from_db()
    assert scheme.target_params["master_rules"]["FTEL"] == "kingdee"
    assert scheme.versions.count() == versions + 1
    table = {row["field"]: row for row in rules.table(scheme)}
    assert table["FTEL"]["master"] == "kingdee" and table["FTEL"]["signed"] and table["FTEL"]["decided_by"] == "it"
    assert table["FName"]["signed"] and table["FName"]["decided_by"] == "it-signer"
    history = rules.history(scheme)
    assert [(r.field, r.previous, r.master, r.decided_by.username, r.note) for r in history[:2]] == [
        ("FTEL", "dingtalk", "kingdee", "it", "三方会议"), ("FCustTypeId", "kingdee", "kingdee", "it-signer", "方案评审会")]
    with pytest.raises(ValidationError):
        rules.decide(scheme, {"FSELLER": "kingdee"}, user=it)  # DingTalk's API cannot write the owner


def test_nothing_is_written_before_every_master_rule_is_signed(world):
    world.crm("create", data={"customer_name": "未签字时的客户"})
    scheme = world.scheme(signed=False)
    refused = run(scheme)
    with translation.override("zh-hans"):  # the run keeps a code: its reader sees it in Chinese
        assert refused.status == SyncRun.Status.FAILED and "尚未签字" in reasons.describe_run(refused)
    assert not SyncRecord.objects.filter(scheme=scheme).exists()

    rules.decide(scheme, scheme.target_params["master_rules"], user=user("it", IT_ADMIN))
    scheme.target_params = {**scheme.target_params, "master_rules": {  # changed outside the rules page
        **scheme.target_params["master_rules"], "FTEL": "kingdee"}}
    scheme.save()
    again = run(scheme)
    assert again.status == SyncRun.Status.FAILED and "联系电话" in again.error


def test_a_side_that_fails_mid_run_leaves_its_records_to_the_next_run(world, paired, monkeypatch):
    from integrations.adapters.crm import CustomerTarget
    from integrations.clients.errors import TransientError

    scheme, key, number = paired
    world.crm("update", instanceId=key, data={"phone": "0574-9", "address": "宁波市海曙区"})

    def down(self, items):
        raise TransientError("金蝶暂时不可用", system="kingdee")

    with monkeypatch.context() as patch:
        patch.setattr(CustomerTarget, "update", down)
        failed = run(scheme)
    record = SyncRecord.objects.get(scheme=scheme, source_key=key)
    assert record.status == Status.FAILED and "金蝶暂时不可用" in record.error and "金蝶暂时不可用" in failed.error
    assert customer(number).model["FTEL"] == "0574-1"

    run(scheme)
    assert customer(number).model["FTEL"] == "0574-9" and customer(number).model["FADDRESS"] == "宁波市海曙区"
    assert SyncRecord.objects.get(pk=record.pk).status == Status.SUCCEEDED
    assert writes(run(scheme)) == {}
