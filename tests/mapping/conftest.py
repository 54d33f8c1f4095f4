import pytest
from django.core.cache import cache

from tests.integrations.conftest import dingtalk_connection, kingdee_connection, remote, scheme  # noqa: F401
from tests.integrations.live import build_world


@pytest.fixture
def world(live_server, transactional_db):
    """Both sandboxes on the live server, the demo connections pointing at them and the expense scheme."""
    cache.clear()
    return build_world(live_server.url, instances=8)
