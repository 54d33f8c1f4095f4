"""First matching: pairs by tax number, then by exact normalised name; the rest waits for a person's approval;
ambiguous pairs go to the review queue; nothing is created twice."""

import pytest

from integrations.customers import proposals
from integrations.models import SyncRecord
from tests.customers.helpers import dingtalk_customers, first_matching, kingdee_customers, pairs, run, writes

pytestmark = pytest.mark.django_db(transaction=True)
Status = SyncRecord.Status
NEW = {"FCreateOrgId": {"FNumber": "100"}, "FTRADINGCURRID": {"FNumber": "PRE001"}}


@pytest.fixture
def both_sides(world):
    client = world.kingdee_client()
    seller = world.sellers[0][0]
    models = [{"FName": "苏州甲精密有限公司", "FSOCIALCRECODE": "91320500MA1TAX0001", **NEW},
              {"FName": "重名贸易有限公司", "FNumber": "DUP1", **NEW}, {"FName": "重名贸易有限公司", "FNumber": "DUP2", **NEW}]
    assert all(o.ok for o in client.batch_save("BD_Customer", models, IsAutoSubmitAndAudit=True))
    world.crm_many([
        {"action": "create", "customer": {"owner": seller, "data": {
            "customer_name": "苏州甲精密（集团）有限公司", "credit_code": "91320500MA1TAX0001", "phone": "0512-1"}}},
        {"action": "create", "customer": {"owner": seller, "data": {"customer_name": "上海云启信息技术 有限公司"}}},
        {"action": "create", "customer": {"owner": seller, "data": {"customer_name": "重名贸易有限公司"}}},
        {"action": "create", "customer": {"owner": seller, "data": {"customer_name": "只在钉钉的客户"}}},
    ])
    return world


def test_first_matching_pairs_proposes_and_creates_each_customer_once_after_approval(both_sides):
    scheme = both_sides.scheme()
    kingdee_before, dingtalk_before = set(kingdee_customers()), set(dingtalk_customers())
    by_name = {c.data["customer_name"]: key for key, c in dingtalk_customers().items()}
    first = run(scheme)

    found = pairs(scheme)
    assert found[by_name["苏州甲精密（集团）有限公司"]] == next(  # by tax number, though the names differ
        n for n, r in kingdee_customers().items() if r.name == "苏州甲精密有限公司")
    assert found[by_name["上海云启信息技术 有限公司"]] == "CUST0001"  # by normalised name
    # Kingdee is master of the name: the paired DingTalk customer now reads Kingdee's.
    assert dingtalk_customers()[by_name["苏州甲精密（集团）有限公司"]].data["customer_name"] == "苏州甲精密有限公司"
    ambiguous = SyncRecord.objects.get(scheme=scheme, source_key=by_name["重名贸易有限公司"])
    assert ambiguous.status == Status.FAILED and ambiguous.reason_code == "ambiguous_match"
    assert sorted(ambiguous.reason_params["numbers"]) == ["DUP1", "DUP2"]
    waiting = {row["title"]: row["side"] for row in proposals.rows(scheme)}
    assert waiting["只在钉钉的客户"] == "kingdee" and waiting["杭州数智零售有限公司"] == "dingtalk"
    assert "重名贸易有限公司" not in waiting
    # Nothing is created before a person approves, however often it runs.
    assert first.stats["twoway"]["created_in_kingdee"] == first.stats["twoway"]["created_in_dingtalk"] == 0
    assert set(kingdee_customers()) == kingdee_before and set(dingtalk_customers()) == dingtalk_before
    run(scheme)
    assert set(kingdee_customers()) == kingdee_before and set(dingtalk_customers()) == dingtalk_before

    proposals.approve(scheme, None, user=None)
    run(scheme)
    again = run(scheme)

    assert writes(again) == {}
    kingdee, dingtalk = kingdee_customers(), dingtalk_customers()
    names_in_kingdee = [r.name for r in kingdee.values()]
    names_in_dingtalk = [c.data["customer_name"] for c in dingtalk.values()]
    assert names_in_kingdee.count("只在钉钉的客户") == 1 and names_in_dingtalk.count("杭州数智零售有限公司") == 1
    found = pairs(scheme)
    assert len(set(found.values())) == len(found)  # one Kingdee customer per DingTalk customer
    unpaired_dingtalk = set(dingtalk) - set(found)
    unpaired_kingdee = set(kingdee) - set(found.values())
    assert unpaired_dingtalk == {by_name["重名贸易有限公司"]} and unpaired_kingdee == {"DUP1", "DUP2"}


def test_an_approved_customer_paired_meanwhile_is_paired_not_created(world):
    scheme = world.scheme()
    world.crm("create", data={"customer_name": "后来配上的客户", "credit_code": "91330100MA2LATE001"})
    run(scheme)
    record = SyncRecord.objects.get(scheme=scheme, title="后来配上的客户")
    assert record.status == Status.WAITING
    world.kingdee_client().batch_save("BD_Customer", [{"FName": "后来配上的客户（金蝶）", "FSOCIALCRECODE": "91330100MA2LATE001",
                                                       **NEW}], IsAutoSubmitAndAudit=True)
    proposals.approve(scheme, [record.pk], user=None)
    run(scheme)
    names = [r.name for r in kingdee_customers().values()]
    assert not [n for n in names if n == "后来配上的客户"]
    assert pairs(scheme)[record.source_key] in kingdee_customers()


def test_after_the_first_matching_new_customers_cross_over_at_once(world):
    scheme = world.scheme()
    first_matching(scheme)
    made = world.crm("create", data={"customer_name": "新来的钉钉客户", "phone": "0571-9"}, owner=world.sellers[1][0])
    client = world.kingdee_client()
    assert client.batch_save("BD_Customer", [{"FName": "新来的金蝶客户", "FTEL": "021-9", **NEW,
                                              "FSELLER": {"FNumber": world.sellers[2][1]}}], IsAutoSubmitAndAudit=True)[0].ok
    run(scheme)
    quiet = run(scheme)

    kingdee = {r.name: r for r in kingdee_customers().values()}
    assert kingdee["新来的钉钉客户"].model["FTEL"] == "0571-9"
    assert kingdee["新来的钉钉客户"].model["FSELLER"] == {"FNumber": world.sellers[1][1]}
    dingtalk = {c.data["customer_name"]: c for c in dingtalk_customers().values()}
    assert dingtalk["新来的金蝶客户"].data["phone"] == "021-9"
    assert dingtalk["新来的金蝶客户"].owner_userids == [world.sellers[2][0]]  # the seller, through the identity map
    assert made["instanceId"] in pairs(scheme) and writes(quiet) == {}
