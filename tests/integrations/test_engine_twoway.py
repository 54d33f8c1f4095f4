"""Two-way primitives: per-field changes each way, the portal's own echo ignored, conflicts and master rules."""

from datetime import datetime, timedelta

from integrations.engine import twoway

SYNCED = {"source": {"name": "华东商贸", "phone": "021-1"}, "target": {"name": "华东商贸", "phone": "021-1"}}


def test_a_change_on_one_side_is_pushed_to_the_other():
    result = twoway.compare(SYNCED, {"name": "华东商贸有限公司", "phone": "021-1"}, {"name": "华东商贸", "phone": "021-2"})

    assert result.to_target == {"name": "华东商贸有限公司"} and result.to_source == {"phone": "021-2"}
    assert not result.conflicts


def test_the_portals_own_write_coming_back_is_no_change():
    pushed = twoway.compare(SYNCED, {"name": "新名", "phone": "021-1"}, dict(SYNCED["target"]))
    state = twoway.after_sync(SYNCED, {"name": "新名", "phone": "021-1"}, dict(SYNCED["target"]), pushed)

    echo = twoway.compare(state, {"name": "新名", "phone": "021-1"}, {"name": "新名", "phone": "021-1"})

    assert pushed.to_target == {"name": "新名"} and echo.quiet


def test_a_field_changed_on_both_sides_is_a_conflict_with_both_values():
    result = twoway.compare(SYNCED, {"name": "甲", "phone": "021-1"}, {"name": "乙", "phone": "021-1"})

    assert result.conflicts == {"name": {"source": "甲", "target": "乙", "synced": "华东商贸"}}
    assert not result.to_target and not result.to_source


def test_the_same_change_on_both_sides_is_no_conflict():
    assert twoway.compare(SYNCED, {"name": "甲", "phone": "021-1"}, {"name": "甲", "phone": "021-1"}).quiet


def test_master_rules_decide_per_field():
    source, target = {"name": "甲", "phone": "1"}, {"name": "乙", "phone": "2"}
    now = datetime(2026, 11, 29, 12)

    assert twoway.compare(SYNCED, source, target, {"name": "source"}).to_target == {"name": "甲"}
    assert twoway.compare(SYNCED, source, target, {"name": "target", "phone": "target"}).to_source == {
        "name": "乙", "phone": "2"}
    newest = twoway.compare(SYNCED, source, target, {"name": "newest", "phone": "newest"}, source_time=now,
                            target_time=now - timedelta(minutes=1))
    assert newest.to_target == {"name": "甲", "phone": "1"} and not newest.conflicts


def test_a_source_owned_field_changed_only_in_the_target_is_put_back():
    result = twoway.compare(SYNCED, dict(SYNCED["source"]), {"name": "改过", "phone": "021-1"}, {"name": "source"})

    assert result.to_target == {"name": "华东商贸"}


def test_a_resolved_conflict_pushes_the_kept_value_to_the_other_side():
    source, target = {"name": "甲", "phone": "021-1"}, {"name": "乙", "phone": "021-1"}
    conflicts = twoway.compare(SYNCED, source, target).conflicts

    keep_source = twoway.compare(twoway.resolve(SYNCED, conflicts, "source"), source, target)
    keep_target = twoway.compare(twoway.resolve(SYNCED, conflicts, "target"), source, target)

    assert keep_source.to_target == {"name": "甲"} and not keep_source.conflicts
    assert keep_target.to_source == {"name": "乙"} and not keep_target.conflicts
