"""The template 客户档案双向同步 as IT creates it: the fields mapped both ways, the value maps and the identity map in
both directions, a scheduled comparison every 5 minutes, and the master-rule table on the scheme's page."""

import pytest
from django_q.models import Schedule

from integrations.customers import create_customer_scheme, rules, views
from tests.events.conftest import dingtalk, kingdee  # noqa: F401  (fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme(dingtalk, kingdee):  # noqa: F811
    return create_customer_scheme(source_connection=dingtalk, target_connection=kingdee, operator_userid="manager")


def test_every_field_of_the_issue_is_mapped_both_ways(scheme):
    both = {field: key for field, _label, key in rules.two_way_fields(scheme)}
    assert both == {"FName": "customer_name", "FShortName": "short_name", "FSOCIALCRECODE": "credit_code",
                    "FTEL": "phone", "FADDRESS": "address", "FSELLER": "owner", "FCustTypeId": "customer_type"}
    rows = {row.target: row for row in scheme.mappings.all()}
    assert rows["FSELLER"].transform == "identity" and rows["dingtalk.owner"].transform == "identity_reverse"
    assert rows["FCustTypeId"].transform == rows["dingtalk.customer_type"].transform == "value_map"
    maps = scheme.value_map_dicts()
    assert rows["FCustTypeId"].params["map"] in maps and rows["dingtalk.customer_type"].params["map"] in maps
    assert rows["FTAXREGISTERCODE"].source == "credit_code"  # the tax number, written on creation


def test_both_sides_are_compared_every_five_minutes_by_default(scheme, dingtalk, kingdee):  # noqa: F811
    assert scheme.enabled and scheme.interval_minutes == 5
    schedule = Schedule.objects.get(pk=scheme.schedule_id)
    assert (schedule.schedule_type, schedule.minutes, schedule.args) == (Schedule.MINUTES, 5, repr(scheme.pk))
    other = create_customer_scheme(source_connection=dingtalk, target_connection=kingdee, operator_userid="manager",
                                   name="客户档案（每 15 分钟）", interval_minutes=15)
    assert Schedule.objects.get(pk=other.schedule_id).minutes == 15


def test_the_scheme_page_shows_every_two_way_field_not_yet_signed(scheme):
    shown = views.scheme_page_context(scheme)
    assert [row["field"] for row in shown["customer_rules"]] == [
        "FName", "FShortName", "FSOCIALCRECODE", "FTEL", "FADDRESS", "FSELLER", "FCustTypeId"]
    assert not any(row["signed"] for row in shown["customer_rules"])
    assert {row["field"]: row["fixed"] for row in shown["customer_rules"]}["FSELLER"]  # DingTalk's 负责人
