from tests.events.conftest import dingtalk, kingdee, scheme  # noqa: F401  (shared fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401
from tests.sso.conftest import dingtalk_connection, sso_settings  # noqa: F401,E402
