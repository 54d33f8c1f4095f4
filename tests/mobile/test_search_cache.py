"""A repeated search, whatever the order and case of its words, is answered from the cache: no Kingdee call."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from mobile import lookup

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    cache.clear()
    asked = []

    def read(settings, text):
        asked.append(text)
        return [{"number": "1.01.001", "name": text, "stocks": []}]

    monkeypatch.setattr(lookup, "_read", read)
    return asked


def settings(**fields):
    return SimpleNamespace(**{"kingdee_id": 1, "max_results": 20, "cache_seconds": 60, **fields})


def test_reordered_or_recased_words_are_the_same_search(reads):
    first, cached = lookup.search(settings(), "星河 Gateway")
    again = [lookup.search(settings(), text) for text in ["gateway 星河", "  星河   GATEWAY ", "星河 gateway gateway"]]

    assert not cached and reads == ["星河 Gateway"]
    assert all(found == first and from_cache for found, from_cache in again)


def test_other_words_or_another_connection_ask_kingdee_again(reads):
    lookup.search(settings(), "星河")
    lookup.search(settings(), "星河 网关")
    lookup.search(settings(kingdee_id=2), "星河")
    lookup.search(settings(max_results=50), "星河")

    assert len(reads) == 4
