from tests.integrations.conftest import dingtalk_connection, kingdee_connection, scheme  # noqa: F401
