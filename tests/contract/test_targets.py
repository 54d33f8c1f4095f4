"""What every target adapter promises the booking loop, per mode (see `integrations.adapters.base.TargetAdapter`)."""

import pytest

from integrations import adapters
from integrations.adapters import Change, Outcome, TargetAdapter
from tests.contract.registry import TARGETS


def cases(*modes):
    chosen = [case for case in TARGETS if adapters.target_class(case.kind).mode in modes]
    return pytest.mark.parametrize("case", chosen, ids=[case.name or case.kind for case in chosen])


def build(case):
    return adapters.target_class(case.kind)(case.params, case.client(), case.dedupe_field)


def write(target, payloads):
    outcomes = target.write(list(payloads.items()))
    assert len(outcomes) == len(payloads) and all(isinstance(outcome, Outcome) for outcome in outcomes)
    return dict(zip(payloads, outcomes))


@cases(TargetAdapter.BILL, TargetAdapter.MASTER, TargetAdapter.MESSAGE)
def test_it_is_registered_with_a_mode_a_label_and_declared_settings(case):
    cls = adapters.target_class(case.kind)
    assert cls.mode in (TargetAdapter.BILL, TargetAdapter.MASTER, TargetAdapter.MESSAGE)
    assert cls.label and cls.connection_kind and cls.check(case.params) == []


# ---- BILL: written once per key, found by the dedupe value before any first write ------------------------


@cases(TargetAdapter.BILL)
def test_a_bill_target_writes_one_outcome_per_item_in_order_with_the_bills_number(case):
    outcomes = write(build(case), case.payloads())

    assert all(outcome.ok and outcome.number for outcome in outcomes.values())


@cases(TargetAdapter.BILL)
def test_a_bill_target_finds_what_was_written_by_its_key_and_nothing_else(case):
    target = build(case)
    written = write(target, case.payloads())

    found = target.find([*written, "never-written"])

    assert set(found) == set(written)
    assert {key: outcome.number for key, outcome in found.items()} == {k: o.number for k, o in written.items()}


@cases(TargetAdapter.BILL)
def test_a_bill_target_refuses_a_bad_item_alone_with_the_remotes_own_words(case):
    if case.rejected is None:
        pytest.skip("no refused payload given")
    key, payload = case.rejected()
    good = case.payloads()

    outcomes = write(build(case), {key: payload, **good})

    assert not outcomes[key].ok and outcomes[key].message
    assert all(outcomes[other].ok for other in good)


# ---- MASTER: upsert by business number, changed fields only, disable instead of delete --------------------


def existing(target, key, payload):
    return target.find([(key, payload)]).get(key)


@cases(TargetAdapter.MASTER)
def test_master_data_is_created_then_found_with_its_state_and_then_unchanged(case):
    target = build(case)
    payloads = case.payloads()
    for key, payload in payloads.items():
        assert target.plan(key, payload, None, None).action == Change.CREATE

    written = write(target, {key: target.plan(key, p, None, None).payload for key, p in payloads.items()})

    for key, payload in payloads.items():
        found = existing(target, key, payload)
        assert found is not None and found.state is not None and written[key].ok
        plan = target.plan(key, payload, found, {"target": written[key].state})
        assert plan.action == Change.UNCHANGED


@cases(TargetAdapter.MASTER)
def test_a_changed_field_is_planned_as_an_update_and_written_to_the_same_record(case):
    target = build(case)
    key, payload = next(iter(case.payloads().items()))
    first = write(target, {key: target.plan(key, payload, None, None).payload})[key]
    changed = case.changed(payload)

    plan = target.plan(key, changed, existing(target, key, payload), {"target": first.state})
    assert plan.action == Change.UPDATE and plan.payload and plan.fields
    second = write(target, {key: plan.payload})[key]

    assert second.ok
    after = existing(target, key, changed)
    assert target.plan(key, changed, after, {"target": second.state}).action == Change.UNCHANGED


@cases(TargetAdapter.MASTER)
def test_a_field_changed_in_the_target_since_the_portal_wrote_it_is_a_conflict_unless_kept(case):
    target = build(case)
    key, payload = next(iter(case.payloads().items()))
    first = write(target, {key: target.plan(key, payload, None, None).payload})[key]
    changed = case.changed(payload)
    found = existing(target, key, payload)
    edited = Outcome(True, found.id, found.number, state={**found.state, **{
        name: f"{value}（手改）" for name, value in (first.state or {}).items() if not name.startswith("_")}})

    plan = target.plan(key, changed, edited, {"target": first.state})

    assert plan.action == Change.CONFLICT and plan.conflicts
    assert all({"source", "target", "written"} <= set(values) for values in plan.conflicts.values())
    kept = target.plan(key, changed, edited, {"target": first.state, "kept": list(plan.conflicts)})
    assert kept.action != Change.CONFLICT


@cases(TargetAdapter.MASTER)
def test_a_removed_record_is_disabled_not_deleted_and_planned_again_as_an_enable(case):
    target = build(case)
    key, payload = next(iter(case.payloads().items()))
    if type(target).remove is TargetAdapter.remove:
        pytest.skip("bills that follow their source are never disabled: their sources list no removals")
    first = write(target, {key: target.plan(key, payload, None, None).payload})[key]

    [removed] = target.remove([(key, existing(target, key, payload))])

    assert removed.ok
    found = existing(target, key, payload)
    assert found is not None  # still there
    assert target.plan(key, payload, found, {"target": first.state}).action == Change.ENABLE


@cases(TargetAdapter.MASTER)
def test_dependencies_are_keys_of_the_same_scheme(case):
    target = build(case)
    for key, payload in case.payloads().items():
        assert all(isinstance(other, str) for other in target.depends_on(key, payload))


# ---- MESSAGE: sent once per key, never searched -------------------------------------------------------------


@cases(TargetAdapter.MESSAGE)
def test_a_message_target_sends_one_outcome_per_item(case):
    outcomes = write(build(case), case.payloads())

    assert all(outcome.ok for outcome in outcomes.values())
