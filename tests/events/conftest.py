import pytest

from integrations import market
from integrations.models import Connection, ValueMap, ValueMapEntry
from sso.models import IdentityMap
from tests.events.pushes import AES_KEY, APP_KEY, CORP_ID, TOKEN
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401  (shared fixtures)
from tests.integrations.fakes import PROCESS_CODE


@pytest.fixture
def dingtalk(db):
    return Connection.objects.create(
        name="钉钉", kind=Connection.Kind.DINGTALK, base_url="http://127.0.0.1:9/", api_base_url="http://127.0.0.1:9/",
        app_key=APP_KEY, app_secret="secret", corp_id=CORP_ID, agent_id="1", callback_token=TOKEN,
        callback_aes_key=AES_KEY,
    )


@pytest.fixture
def kingdee(kingdee_connection):
    return kingdee_connection


@pytest.fixture
def scheme(dingtalk, kingdee):
    """The expense-claim template on events, with the fake company's department and one mapped employee."""
    scheme = market.create_scheme(market.DEFAULT, source_connection=dingtalk, target_connection=kingdee,
                                  process_code=PROCESS_CODE, batch_size=10)
    scheme.event_trigger = True
    scheme.schedule_kind = scheme.ScheduleKind.MANUAL
    scheme.save()
    departments = ValueMap.objects.get(scheme=scheme, name="钉钉部门→金蝶部门")
    ValueMapEntry.objects.create(value_map=departments, source_value="582976341", target_value="BM000003")
    IdentityMap.objects.create(dingtalk_userid="u1", kingdee_username="张伟", kingdee_staff_number="XH0001",
                               name="张伟")
    return scheme
