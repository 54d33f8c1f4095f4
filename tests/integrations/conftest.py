import pytest

from integrations import market
from integrations.models import Connection, ValueMap, ValueMapEntry
from sso.models import IdentityMap
from tests.integrations.fakes import PROCESS_CODE, FakeDingTalk, FakeKingdee


@pytest.fixture
def dingtalk_connection(db):
    return Connection.objects.create(
        name="钉钉", kind=Connection.Kind.DINGTALK, base_url="http://127.0.0.1:9/", api_base_url="http://127.0.0.1:9/",
        app_key="key", app_secret="secret", corp_id="corp", agent_id="1",
    )


@pytest.fixture
def kingdee_connection(db):
    return Connection.objects.create(
        name="金蝶", kind=Connection.Kind.KINGDEE, base_url="http://127.0.0.1:9/k3cloud/", acct_id="acct",
        username="demo", app_id="app_1", app_secret="secret",
    )


@pytest.fixture
def remote(monkeypatch):
    """The fake DingTalk and Kingdee every engine call in the test talks to."""

    class Remote:
        dingtalk = FakeDingTalk()
        kingdee = FakeKingdee()

    def client_for(connection):
        return Remote.dingtalk if connection.kind == Connection.Kind.DINGTALK else Remote.kingdee

    monkeypatch.setattr("integrations.engine.client_for", client_for)
    return Remote


def add_identity(userid, staff_number, name="张伟"):
    return IdentityMap.objects.create(dingtalk_userid=userid, kingdee_username=name, kingdee_staff_number=staff_number,
                                      name=name)


@pytest.fixture
def scheme(dingtalk_connection, kingdee_connection):
    """The expense-claim template, with the fake company's department and one mapped employee."""
    scheme = market.create_scheme(
        market.DEFAULT, source_connection=dingtalk_connection, target_connection=kingdee_connection,
        process_code=PROCESS_CODE, batch_size=10,
    )
    departments = ValueMap.objects.get(scheme=scheme, name="钉钉部门→金蝶部门")
    ValueMapEntry.objects.create(value_map=departments, source_value="582976341", target_value="BM000003")
    add_identity("u1", "XH0001")
    return scheme
