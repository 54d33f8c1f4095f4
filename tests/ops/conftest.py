import pytest
from integrations import market
from integrations.models import ValueMap, ValueMapEntry
from tests.integrations.conftest import add_identity, dingtalk_connection, kingdee_connection, remote  # noqa: F401
from tests.integrations.fakes import PROCESS_CODE
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent


@pytest.fixture
def scheme(dingtalk_connection, kingdee_connection, committed):
    """The expense-claim template as in tests/integrations, committed (so its first version is recorded)."""
    with committed():
        scheme = market.create_scheme(market.DEFAULT, source_connection=dingtalk_connection,
                                      target_connection=kingdee_connection, process_code=PROCESS_CODE, batch_size=10)
        departments = ValueMap.objects.get(scheme=scheme, name="钉钉部门→金蝶部门")
        ValueMapEntry.objects.create(value_map=departments, source_value="582976341", target_value="BM000003")
    add_identity("u1", "XH0001")
    return scheme


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Tasks and versions wait for the commit; inside a test's transaction, run those callbacks as it would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def unknown_expense(key, hours_ago=3, userid="u1"):
    """A claim whose expense type (团建费) the scheme's value map does not know yet: it fails on mapping."""
    return claim(key, userid=userid, created=recent(hours_ago), items=(("团建费", "320"),))
