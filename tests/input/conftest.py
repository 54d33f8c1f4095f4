from tests.events.conftest import dingtalk, kingdee, scheme  # noqa: F401  (shared fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401
