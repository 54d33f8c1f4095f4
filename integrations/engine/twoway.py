"""Two-way primitives: what changed on which side since the last sync, field by field.

Per key the ledger keeps the values each side held after the last sync (`SyncRecord.synced_state`:
{"source": {field: value}, "target": {field: value}}), including what the portal itself wrote there. Comparing
both sides now with that state says, per field:

- changed on one side only → push it to the other side (a change the portal wrote comes back unchanged
  against the state it left: its own echo is no change, so nothing ping-pongs);
- changed on both sides to the same value → nothing to do;
- changed on both sides differently → the field's master rule decides: SOURCE or TARGET wins, NEWEST wins by
  the sides' modification times, and ASK (the default) makes it a conflict for a person.

A rule can also make one side the owner of a field whatever the other does (SOURCE: a change made only in the
target is overwritten from the source). Pure functions: no models, no clients.
"""

from dataclasses import dataclass, field

SOURCE, TARGET, NEWEST, ASK = "source", "target", "newest", "ask"
RULES = (SOURCE, TARGET, NEWEST, ASK)


@dataclass
class Comparison:
    to_target: dict = field(default_factory=dict)  # {field: value to write into the target}
    to_source: dict = field(default_factory=dict)  # {field: value to write into the source}
    # {field: {"source": value now, "target": value now, "synced": value at the last sync}}
    conflicts: dict = field(default_factory=dict)

    @property
    def quiet(self):
        return not (self.to_target or self.to_source or self.conflicts)


def compare(synced, source, target, rules=None, *, source_time=None, target_time=None):
    """Compare both sides now (`source`, `target`: {field: value}) with the last synced state. `rules` maps a
    field to SOURCE, TARGET, NEWEST or ASK (the default). Fields absent from one side now are not compared."""
    synced = synced or {}
    was_source, was_target = synced.get("source") or {}, synced.get("target") or {}
    rules = rules or {}
    result = Comparison()
    for name in sorted(set(source) & set(target)):
        now_source, now_target = source[name], target[name]
        if now_source == now_target:
            continue
        rule = rules.get(name, ASK)
        source_changed = name not in was_source or now_source != was_source[name]
        target_changed = name in was_target and now_target != was_target[name]
        winner = _winner(rule, source_changed, target_changed, source_time, target_time)
        if winner == SOURCE:
            result.to_target[name] = now_source
        elif winner == TARGET:
            result.to_source[name] = now_target
        elif winner == ASK:
            result.conflicts[name] = {"source": now_source, "target": now_target,
                                      "synced": was_target.get(name, was_source.get(name))}
    return result


def _winner(rule, source_changed, target_changed, source_time, target_time):
    if rule in (SOURCE, TARGET):
        return rule
    if source_changed and not target_changed:
        return SOURCE
    if target_changed and not source_changed:
        return TARGET
    if not source_changed and not target_changed:  # differ since before the first sync: the source leads
        return SOURCE
    if rule == NEWEST and source_time is not None and target_time is not None and source_time != target_time:
        return SOURCE if source_time > target_time else TARGET
    return ASK


def after_sync(synced, source, target, comparison):
    """The state to keep once the comparison's pushes are written: each side as it now is, with what the
    portal wrote (so that it is recognised as its own echo). Conflicting fields keep their old state."""
    synced = synced or {}
    new_source = {**(synced.get("source") or {}), **source, **comparison.to_source}
    new_target = {**(synced.get("target") or {}), **target, **comparison.to_target}
    for name in comparison.conflicts:
        for side, before in (("source", new_source), ("target", new_target)):
            old = (synced.get(side) or {})
            if name in old:
                before[name] = old[name]
            else:
                before.pop(name, None)
    return {**synced, "source": new_source, "target": new_target}


def resolve(synced, conflicts, keep):
    """A person kept one side's values of conflicting fields: the state to keep so that the next comparison
    pushes them to the other side."""
    if keep not in (SOURCE, TARGET):
        raise ValueError(f"keep must be {SOURCE} or {TARGET}, not {keep!r}")
    synced = synced or {}
    new_source, new_target = dict(synced.get("source") or {}), dict(synced.get("target") or {})
    for name, values in conflicts.items():
        other = values.get("target") if keep == SOURCE else values.get("source")
        # As if both sides held the other side's value at the last sync, and only the kept side changed since.
        new_source[name] = new_target[name] = other
    return {**synced, "source": new_source, "target": new_target}
