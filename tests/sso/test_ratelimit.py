"""The SSO rate limit counts each address's requests in one round trip to the shared store."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sso import ratelimit
from sso.models import RateWindow


@pytest.mark.django_db
def test_the_database_store_counts_each_address_and_window_in_one_statement():
    windows = ratelimit.DatabaseWindows()
    windows._pruned_until = float("inf")  # no pruning in this test
    with CaptureQueriesContext(connection) as queries:
        assert [windows.hit("sso:rate:10.0.0.1:1", 2e9) for _ in range(3)] == [1, 2, 3]
    assert len(queries) == 3
    assert windows.hit("sso:rate:10.0.0.2:1", 2e9) == 1
    assert windows.hit("sso:rate:10.0.0.1:2", 2e9) == 1


@pytest.mark.django_db
def test_the_database_store_deletes_windows_that_have_ended_once_a_window():
    RateWindow.objects.create(key="sso:rate:10.0.0.9:1", hits=60, ends_at=1.0)
    windows = ratelimit.DatabaseWindows()
    windows.hit("sso:rate:10.0.0.1:1", 2e9)
    assert list(RateWindow.objects.values_list("key", flat=True)) == ["sso:rate:10.0.0.1:1"]
    RateWindow.objects.create(key="sso:rate:10.0.0.9:1", hits=60, ends_at=1.0)
    windows.hit("sso:rate:10.0.0.1:1", 2e9)  # the same window: no second delete
    assert RateWindow.objects.count() == 2


def test_the_local_store_counts_in_this_process():
    windows = ratelimit.LocalWindows()
    assert [windows.hit("a", 2e9), windows.hit("a", 2e9), windows.hit("b", 2e9)] == [1, 2, 1]


@pytest.mark.django_db
def test_the_store_follows_rate_limit_store(settings, monkeypatch):
    monkeypatch.setattr(ratelimit, "_stores", {})
    settings.RATE_LIMIT_STORE = "database"
    assert isinstance(ratelimit.store(), ratelimit.DatabaseWindows)
    settings.RATE_LIMIT_STORE = "local"
    assert isinstance(ratelimit.store(), ratelimit.LocalWindows)
