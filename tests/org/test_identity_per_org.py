"""The identity rows the org sync keeps belong to the scheme's DingTalk organisation: a user id is unique only
within one organisation, so a joiner, leaver or re-hire of one org never touches another org's row."""

from types import SimpleNamespace

import pytest

from integrations import engine, identity
from integrations.adapters.contacts import ContactsSource
from integrations.market.org import create_org_schemes
from integrations.models import Connection
from sso.models import IdentityMap

pytestmark = pytest.mark.django_db


def org(name, corp):
    return Connection.objects.create(
        name=name, kind="dingtalk", base_url="https://oapi.dingtalk.com/", api_base_url="https://api.dingtalk.com/",
        app_key=f"key-{corp}", app_secret="secret", corp_id=corp)


@pytest.fixture
def orgs():
    return org("总部钉钉", "dingcorpA"), org("子公司钉钉", "dingcorpB")


def people_source(connection):
    source = ContactsSource({"records": "users", "identity_rows": True}, client=None)
    source.connection_id = connection.pk
    return source


def settle(source, action, userid="u001", staff="XH0001"):
    data = {"userid": userid, "name": "张伟", "staff_number": staff, "mobile": "13800000001", "unionid": ""}
    source.settled([(userid, data, action, SimpleNamespace(ok=True, number=staff, response={}))])


def test_a_joiner_gets_a_row_in_the_schemes_organisation_only(orgs):
    a, b = orgs
    IdentityMap.objects.create(dingtalk=b, dingtalk_userid="u001", kingdee_staff_number="B-9", name="另一个人")

    settle(people_source(a), "create")

    assert IdentityMap.objects.of(a).get(dingtalk_userid="u001").kingdee_staff_number == "XH0001"
    other = IdentityMap.objects.of(b).get(dingtalk_userid="u001")
    assert (other.kingdee_staff_number, other.name, other.active) == ("B-9", "另一个人", True)
    assert IdentityMap.objects.filter(dingtalk_userid="u001").count() == 2


def test_a_leaver_of_one_organisation_leaves_the_same_userid_of_the_other_enabled(orgs):
    a, b = orgs
    settle(people_source(a), "create")
    settle(people_source(b), "create", staff="B-1")

    settle(people_source(a), "remove")

    assert not IdentityMap.objects.of(a).get(dingtalk_userid="u001").active
    assert IdentityMap.objects.of(b).get(dingtalk_userid="u001").active
    assert identity.kingdee_identity("u001", a) is None
    assert identity.kingdee_identity("u001", b)["staff_number"] == "B-1"

    settle(people_source(a), "enable")  # re-hired in A: A's row again, B's untouched
    assert IdentityMap.objects.of(a).get(dingtalk_userid="u001").active
    assert IdentityMap.objects.filter(dingtalk_userid="u001").count() == 2


def test_the_engine_tells_the_source_its_dingtalk_connection(orgs):
    a, b = orgs
    kingdee = Connection.objects.create(name="金蝶", kind="kingdee", base_url="https://k3.example.com/k3cloud/",
                                        acct_id="1", username="u", app_id="a", app_secret="s")
    _departments, people = create_org_schemes(source_connection=b, target_connection=kingdee, events=False)

    assert engine.build_source(people).connection_id == b.pk


def test_without_an_organisation_the_only_dingtalk_connection_is_meant(orgs):
    a, b = orgs
    b.delete()
    identity.join("u002", staff_number="XH0002")
    assert IdentityMap.objects.of(a).get(dingtalk_userid="u002").dingtalk_id == a.pk
    assert identity.set_active(["u002"], False) == 1
