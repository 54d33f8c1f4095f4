import pytest


@pytest.fixture
def shared_budgets(settings):
    """The stores the workers use: the database (the test database, so worker processes share it)."""
    settings.RATE_LIMIT_STORE = "database"
    settings.DINGTALK_DETAIL_MEMO_SECONDS = 600
    return settings
