"""The customers' adapters against in-process fakes: what they send and how they read the answers."""

from integrations import adapters
from integrations.adapters import TargetAdapter
from integrations.adapters.crm import CrmSource, CustomerTarget, plain
from integrations.clients.kingdee import ItemOutcome
from tests.contract.cases_customers import FakeCrm


class FakeKingdee:
    def __init__(self):
        self.saves, self.forbidden = [], []
        self.rows = [[100001, "CUST0001", "A", "2026-05-01T10:00:00", "甲公司", "XH0001"],
                     [100001, "CUST0001", "A", "2026-05-01T10:00:00", "甲公司", "XH0001"],  # a second using org
                     [100002, "CUST0002", "B", "2026-05-02T10:00:00", "乙公司", ""]]

    def query_all(self, form_id, keys, filter_string="", order_string="", page_size=2000):
        self.keys = keys
        return iter(self.rows)

    def batch_save(self, form_id, models, **options):
        self.saves.append((models, options))
        return [ItemOutcome(index, True, 100100 + index, f"CUST01{index:02d}") for index, _model in enumerate(models)]

    def forbid(self, form_id, numbers):
        self.forbidden.extend(numbers)
        return [ItemOutcome(index, True, 0, number) for index, number in enumerate(numbers)]


def test_the_pair_is_registered_as_two_way():
    assert adapters.target_class("kingdee.customer").mode == TargetAdapter.TWOWAY
    assert adapters.source_class("dingtalk.crm").windowed is False
    assert CustomerTarget.check({"master_rules": {"FTEL": "sales"}})
    assert CustomerTarget.check({"master_rules": {"FTEL": "dingtalk"}, "on_violation": "queue"}) == []


def test_crm_customers_are_read_page_by_page_with_values_as_text():
    customers = CrmSource({"operator_userid": "manager"}, FakeCrm()).customers()
    assert list(customers) == ["inst1", "inst2", "inst3"]
    assert customers["inst1"]["phone"] == "0571-1" and customers["inst1"]["owner"] == "u1"
    assert customers["inst1"]["modifyTime"] == "2026-05-01 10:00:00"
    assert plain({"value": "a"}) == "a" and plain(["a", {"value": "b"}]) == "a,b" and plain(None) == ""


def test_crm_writes_create_with_an_owner_update_in_tens_and_flag_instead_of_delete():
    fake = FakeCrm()
    crm = CrmSource({"operator_userid": "manager"}, fake)
    key = crm.create({"customer_name": "新客户", "owner": "u2"})
    assert fake.customers[-1]["permission"]["ownerStaffIds"] == ["u2"] and "owner" not in fake.customers[-1]["data"]
    answers = crm.update([("inst1", {"phone": "1"}), ("missing", {"phone": "2"})])
    assert answers == {"inst1": "", "missing": "客户不存在"}
    assert crm.flag([key]) == {key: ""} and fake.customers[-1]["data"]["kingdee_status"] == "金蝶已禁用"


def test_kingdee_customers_are_read_once_each_updated_by_changed_fields_and_forbidden():
    fake = FakeKingdee()
    target = CustomerTarget({}, fake)
    found = target.customers({"FName": False, "FSELLER": True})
    assert fake.keys == ["FCUSTID", "FNumber", "FForbidStatus", "FModifyDate", "FName", "FSELLER.FNumber"]
    assert found["CUST0001"] == {"_id": 100001, "_forbidden": False, "_modified": "2026-05-01T10:00:00",
                                 "FName": "甲公司", "FSELLER": "XH0001"}
    assert found["CUST0002"]["_forbidden"] is True

    answers = target.update([(100001, {"FTEL": "1"}), (100002, {"FTEL": "2"}), (100003, {"FName": "丙"})])
    assert all(outcome.ok for outcome in answers.values())
    groups = [(sorted(m["FCUSTID"] for m in models), options["NeedUpDateFields"]) for models, options in fake.saves]
    assert sorted(groups) == [([100001, 100002], ["FTEL"]), ([100003], ["FName"])]

    made = target.create([{"FName": "丁"}])
    assert made[0].ok and fake.saves[-1][1]["IsAutoSubmitAndAudit"] is True
    assert target.forbid(["CUST0001"])["CUST0001"].ok and fake.forbidden == ["CUST0001"]


def test_identity_reverse_maps_a_kingdee_staff_number_to_its_dingtalk_user():
    from integrations import mapping

    lookups = mapping.Lookups(staff_identity=lambda staff: {"XH0001": "u1"}.get(staff, ""))
    row = mapping.Row("owner", "FSELLER", "identity_reverse")
    assert mapping.build_payload([row], {"FSELLER": "XH0001"}, lookups).payload == {"owner": "u1"}
    failed = mapping.build_payload([row], {"FSELLER": "XH9999"}, lookups)
    assert not failed.ok and "XH9999" in failed.errors[0].render_error()
