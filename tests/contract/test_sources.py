"""What every source adapter promises the booking loop (see `integrations.adapters.base.SourceAdapter`)."""

from datetime import datetime
from decimal import Decimal

import pytest

from integrations import adapters
from integrations.adapters import Listed, Verdict
from integrations.clients.errors import RemoteError
from tests.contract.registry import SOURCES

VERDICTS = {Verdict.WRITE, Verdict.WAIT, Verdict.SKIP, Verdict.PERSON, Verdict.REMOVE}
pytestmark = pytest.mark.parametrize("case", SOURCES, ids=[case.name or case.kind for case in SOURCES])


def build(case):
    return adapters.source_class(case.kind)(case.params, case.client())


def listed(case):
    return list(build(case).list(*case.window))


def records(case):
    source = build(case)
    for entry in source.list(*case.window):
        if entry.removed:
            continue
        yield source, entry, entry.data if entry.data is not None else source.fetch(entry.key)


def test_it_is_registered_with_a_label_a_connection_kind_and_declared_settings(case):
    cls = adapters.source_class(case.kind)
    assert cls.label and cls.connection_kind
    assert cls.check(case.params) == []
    assert cls.check({**case.params, "no_such_setting": 1})


def test_listing_yields_listed_entries_with_unique_text_keys(case):
    entries = listed(case)

    assert entries and all(isinstance(entry, Listed) and isinstance(entry.key, str) and entry.key for entry in entries)
    finished = [entry.key for entry in entries if entry.finished is not False]
    assert len(finished) == len(set(finished))
    assert all(entry.bound is None or entry.bound.tzinfo for entry in entries)
    assert all(entry.data is None or isinstance(entry.data, dict) for entry in entries)


def test_every_listed_record_is_judged_and_summarised_for_the_ledger(case):
    for source, _entry, data in records(case):
        verdict = source.verdict(data)
        assert verdict.action in VERDICTS
        assert verdict.action == Verdict.WRITE or verdict.reason or verdict.code
        summary = source.summary(data)
        assert isinstance(summary["title"], str) and len(summary["title"]) <= 200
        assert isinstance(summary["number"], str) and len(summary["number"]) <= 64
        assert isinstance(summary["originator"], str) and len(summary["originator"]) <= 64
        assert summary["amount"] is None or isinstance(summary["amount"], Decimal)
        assert summary["time"] is None or (isinstance(summary["time"], datetime) and summary["time"].tzinfo)


def test_the_keys_of_a_window_are_among_its_listed_keys(case):
    assert set(build(case).keys(*case.window)) <= {entry.key for entry in listed(case)}


def test_fetching_an_unknown_key_raises_a_remote_error(case):
    source = build(case)
    if any(entry.data is not None for entry in source.list(*case.window)):
        pytest.skip("the listing carries the records: nothing is fetched")
    with pytest.raises(RemoteError):
        source.fetch(case.unknown_key)
