"""What every two-way pair promises: its records in sync compare quiet, and a change comes back as no change."""

import pytest

from integrations.engine import twoway
from tests.contract.registry import TWO_WAY

pytestmark = pytest.mark.parametrize("case", TWO_WAY, ids=[case.name for case in TWO_WAY])


def test_records_in_sync_compare_quiet_and_the_portals_own_write_is_no_change(case):
    for data, state in case.records:
        source, target = case.source_fields(data), case.target_fields(state)
        synced = {"source": source, "target": target}
        assert twoway.compare(synced, source, target).quiet

        name = sorted(source)[0]
        changed = {**source, name: f"{source[name]}（改）"}
        pushed = twoway.compare(synced, changed, target)
        assert pushed.to_target == {name: changed[name]} and not pushed.to_source
        after = twoway.after_sync(synced, changed, target, pushed)
        assert twoway.compare(after, changed, {**target, **pushed.to_target}).quiet
