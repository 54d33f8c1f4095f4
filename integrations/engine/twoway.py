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
target is overwritten from the source). `compare`, `after_sync` and `resolve` are pure functions; below them,
`TwoWayBooking` is the engine's run for TWOWAY targets (customers), which uses them.
"""

import re
import time
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations import mapping, reasons
from integrations.adapters.crm import moment
from integrations.adapters.masterdata import flatten
from integrations.clients.errors import RemoteError
from integrations.engine import ledger
from integrations.engine.booking import identity_lookup
from integrations.identity import dingtalk_userid_of_staff
from integrations.models import FieldChange, MasterRule, Scheme, SyncRecord

SOURCE, TARGET, NEWEST, ASK = "source", "target", "newest", "ask"
RULES = (SOURCE, TARGET, NEWEST, ASK)


@dataclass
class Comparison:
    to_target: dict = field(default_factory=dict)  # {field: value to write into the target}
    to_source: dict = field(default_factory=dict)  # {field: value to write into the source}
    # {field: {"source": value now, "target": value now, "synced": value at the last sync}}
    conflicts: dict = field(default_factory=dict)
    put_back: set = field(default_factory=set)  # pushed fields that were changed on the side that is not master

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


# ---- the two-way run ------------------------------------------------------------------------------------
#
# Everything below joins models, clients and mapping: it is the engine's loop for TWOWAY targets (customers,
# DingTalk CRM ⇄ Kingdee BD_Customer), used by `integrations.engine._execute` instead of the one-way `Booking`.
# One run reads both sides whole, then, in this order:
#
#   1. pairs already in the ledger: removed on one side → forbid (Kingdee) / flag (DingTalk), never delete;
#      otherwise compare field by field with the signed master rule and write each side's changes;
#   2. customers on one side only: paired by tax number, then by exact normalised name (several candidates →
#      the review queue); the rest are created on the other side — during the first matching only after a
#      person approved the proposal, afterwards at once (a look by tax number and name came first, so nothing
#      is created twice).
#
# The ledger row of a pair: `source_key` = the CRM instance id (or "kingdee:<number>" for a Kingdee customer not
# yet in DingTalk), `target_number`/`target_id` = the Kingdee customer, `synced_state` = {"source": {field: value
# as Kingdee would hold it}, "target": {…}, "decided": {field: side a person kept}, "removed": side, "proposal":
# side to create in, "approved": bool}.

BACK = "dingtalk."  # mapping rows whose target starts so write DingTalk from Kingdee
KINGDEE_PREFIX = "kingdee:"
MASTER_RULE = {"dingtalk": SOURCE, "kingdee": TARGET, "newest": NEWEST}
UNWRITABLE = {"owner"}  # DingTalk keys BatchUpdateRelationDatas cannot change (负责人): DingTalk stays master
SIDE_LABEL = {SOURCE: "dingtalk", TARGET: "kingdee"}


def normalised(name):
    """A name as compared for pairing: NFKC (full-width brackets and digits), no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name or ""))).lower()


class TwoWayBooking:
    """The two-way run. Same face as `Booking` for `integrations.engine`: `execute`, `listing_complete`,
    `interrupted`, `latencies`, `lister`."""

    def __init__(self, run, scheme, source, target, *, via, should_stop=None, lister=None, lease=None):
        self.run, self.scheme, self.source, self.target, self.via = run, scheme, source, target, via
        self.lister, self.lease = lister or source, lease
        self.should_stop = should_stop or (lambda: False)
        self.listing_complete = self.interrupted = False
        self.latencies = []
        rows = scheme.rows()
        self.forward = [row for row in rows if not row.target.lower().startswith(BACK)]
        self.backward = [mapping.Row(row.target[len(BACK):], row.source, row.transform, row.params, row.required,
                                     row.default) for row in rows if row.target.lower().startswith(BACK)]
        self.dingtalk_key = {row.source: row.target for row in self.backward}  # Kingdee field → DingTalk key
        self.fields = [row.target for row in self.forward if row.target in self.dingtalk_key]
        self.references = {row.target: row.transform == "basedata" or bool((row.params or {}).get("wrap"))
                           for row in self.forward}
        self.rules = rules_of(target.params.get("master_rules") or {}, self.fields, self.dingtalk_key)
        self.queue_violations = target.params.get("on_violation") == "queue"
        self.tax_field = target.params.get("tax_field") or "FSOCIALCRECODE"
        self.name_field = target.params.get("name_field") or "FName"
        self.lookups = mapping.Lookups(value_maps=scheme.value_map_dicts(), identity=identity_lookup(scheme),
                                       staff_identity=lru_cache(maxsize=None)(dingtalk_userid_of_staff))
        self.changes = []  # FieldChange rows to store
        self.settled = {}  # {record pk: {field: value}}: the ledger's updates, written in bulk by `flush`
        self.failure = ""  # the remote's words when a whole batch call failed
        self.counts = {"to_kingdee": 0, "to_dingtalk": 0, "created_in_kingdee": 0, "created_in_dingtalk": 0,
                       "put_back": 0, "conflicts": 0, "forbidden": 0, "flagged": 0, "paired": 0, "proposed": 0}

    # ---- the run --------------------------------------------------------------------------------------

    def execute(self, *, window=None, keys=None, record_ids=None):
        """Every entry point (schedule, event, retry) compares everything: the sides are read whole anyway."""
        started = time.monotonic()
        waiting = unsigned(self.scheme, self.fields)
        if waiting:  # 主从关系必须先签字定: nothing is paired or written before IT signed every field's master
            self.interrupted = True
            # the labels are Kingdee's own (Chinese) field names, not translated text
            ledger.add_reason(self.run, "master_rule_unsigned",
                              fields="、".join(FIELD_LABELS.get(name, name) for name in waiting))
            self.stats = {"twoway": self.counts}
            return
        try:
            dingtalk = self.source.customers()
            kingdee = self.target.customers(self.read_fields())
        except RemoteError as error:
            self.interrupted = True
            ledger.add_reason(self.run, "remote_failed", message=error.message)
            return
        self.listing_complete = True
        self.run.read_count = len(dingtalk) + len(kingdee)
        records = list(SyncRecord.objects.filter(scheme=self.scheme))
        # The first matching: no ledger yet and no run finished it (the cursor marks it done).
        first = not records and self.scheme.cursor is None
        plan = Plan()
        paired_keys, paired_numbers = set(), set()
        for record in records:
            if record.target_number and not record.source_key.startswith(KINGDEE_PREFIX):
                paired_keys.add(record.source_key)
                paired_numbers.add(record.target_number)
                self.compare_pair(record, dingtalk.get(record.source_key), kingdee.get(record.target_number), plan)
        self.match(records, {k: v for k, v in dingtalk.items() if k not in paired_keys},
                   {n: v for n, v in kingdee.items() if n not in paired_numbers}, first, plan)
        try:
            if not self.should_stop():
                self.write(plan)
            else:
                self.interrupted = True
        finally:
            self.flush()
        if first and not self.interrupted:
            Scheme.objects.filter(pk=self.scheme.pk, cursor__isnull=True).update(cursor=timezone_now())
        self.store_changes()
        self.stats = {"twoway": self.counts}
        self.latencies.append(time.monotonic() - started)

    def read_fields(self):
        wanted = [*self.fields, self.tax_field, self.name_field]
        return {name: self.references.get(name, False) for name in dict.fromkeys(wanted)}

    @staticmethod
    def resolve(record, keep, *, user, note):
        """A person kept one side's values of a conflict ("source": DingTalk's, "target": Kingdee's): the next
        run writes them to the other side, whatever the master rule says, once. Returns 1, or 0 if it is no longer
        a conflict."""
        fields = (record.reason_params or {}).get("fields") or {}
        state = dict(record.synced_state or {})
        state["decided"] = {**(state.get("decided") or {}), **{name: keep for name in fields}}
        return SyncRecord.objects.filter(pk=record.pk, status=SyncRecord.Status.CONFLICT).update(
            status=SyncRecord.Status.PENDING, synced_state=state, handled_by=user, handled_at=timezone.now(),
            note=note, reason_code="", reason_params={}, error="", updated_at=timezone.now())

    # ---- views of one customer, in Kingdee's terms ----------------------------------------------------

    def dingtalk_view(self, record):
        """(DingTalk's customer as Kingdee would hold it: {field: text}, the full Kingdee payload, mapping result)."""
        result = mapping.build_payload(self.forward, record, self.lookups)
        flat = flatten(result.payload)
        return {name: flat.get(name, "") for name in self.read_fields()}, result

    def kingdee_view(self, row):
        return {name: str(row.get(name, "") or "") for name in self.read_fields()}

    def to_dingtalk(self, row):
        """Kingdee's customer as DingTalk data: {DingTalk key: value}, mapping result."""
        result = mapping.build_payload(self.backward, {k: v for k, v in row.items() if not k.startswith("_")},
                                            self.lookups)
        return {key: self.plain(value) for key, value in result.payload.items()}, result

    @staticmethod
    def plain(value):
        if isinstance(value, dict):
            return next(iter(value.values()), "")
        return value

    # ---- pairs --------------------------------------------------------------------------------------

    def compare_pair(self, record, crm, customer, plan):
        Status = SyncRecord.Status
        state = dict(record.synced_state or {})
        if record.status in (Status.CONFLICT, Status.HANDLED) or state.get("removed"):
            return
        if crm is None:
            return plan.forbid.append((record, record.target_number))
        if customer is None or customer.get("_forbidden"):
            return plan.flag.append((record, record.source_key))
        source, result = self.dingtalk_view(crm)
        if not result.ok:
            return plan.failed.append((record, "mapping", reasons.mapping_params(result)))
        target = self.kingdee_view(customer)
        back, back_result = self.to_dingtalk(customer)
        if state.get("source") is None:  # paired now: both count as changed, the master rule decides
            state = {**state, "source": {name: None for name in self.fields},
                     "target": {name: None for name in self.fields}}
        decided = state.get("decided") or {}
        rules = {**self.rules, **{name: MASTER_RULE.get(side, side) for name, side in decided.items()}}
        both_sides = {name: source[name] for name in self.fields}, {name: target[name] for name in self.fields}
        comparison = compare(state, *both_sides, rules, source_time=moment(crm.get("modifyTime")),
                             target_time=moment(customer.get("_modified")))
        self.hold_both_changed(state, comparison, both_sides, decided)
        self.hold_violations(state, comparison, both_sides, decided)
        for name in list(comparison.to_source):
            key = self.dingtalk_key[name]
            if comparison.to_source[name] == "":
                back[key] = ""  # cleared in Kingdee: cleared in DingTalk
            if key in UNWRITABLE or key not in back:  # 负责人, or Kingdee's value has no DingTalk equivalent
                comparison.conflicts[name] = {"source": both_sides[0][name], "target": both_sides[1][name],
                                              "synced": (state.get("target") or {}).get(name), "suggestion": SOURCE}
                del comparison.to_source[name]
        for name, values in comparison.conflicts.items():
            values.setdefault("suggestion", self.suggestion(name, crm, customer))
            values["label"] = self.label(name)
            values["written"] = values.get("synced")
        plan.pairs.append(PairPlan(record, crm, customer, state, both_sides, comparison,
                                   {self.dingtalk_key[n]: back.get(self.dingtalk_key[n], "")
                                    for n in comparison.to_source}))

    def hold_both_changed(self, state, comparison, sides, decided):
        """A field with a master that was changed on both sides since the last sync is a conflict for a person,
        with the master as the suggestion (two people disagree: the rule does not silently overwrite either).
        "Newest change wins" decides by itself; a pair made just now follows its master."""
        was_source, was_target = state.get("source") or {}, state.get("target") or {}
        for push in (comparison.to_target, comparison.to_source):
            for name in list(push):
                if name in decided or self.rules.get(name) not in (SOURCE, TARGET):
                    continue
                if was_source.get(name) is None or was_target.get(name) is None:
                    continue
                if sides[0][name] != was_source[name] and sides[1][name] != was_target[name]:
                    comparison.conflicts[name] = {"source": sides[0][name], "target": sides[1][name],
                                                  "synced": was_target[name], "suggestion": self.rules[name]}
                    del push[name]

    def hold_violations(self, state, comparison, sides, decided):
        """A change on the side that is not master of a field: put back (the comparison already pushes the
        master's value over it; logged) or, with `on_violation = queue`, held as a conflict for a person."""
        was = state.get("source") or {}, state.get("target") or {}
        for push, master, other in ((comparison.to_target, SOURCE, 1), (comparison.to_source, TARGET, 0)):
            for name in list(push):
                if self.rules.get(name) != master or name in decided:
                    continue
                side_was = was[other]
                other_changed = name in side_was and side_was[name] is not None and sides[other][name] != side_was[name]
                if not other_changed:
                    continue
                if self.queue_violations:
                    comparison.conflicts[name] = {"source": sides[0][name], "target": sides[1][name],
                                                  "synced": side_was[name], "suggestion": master,
                                                  "violation": True}
                    del push[name]
                else:
                    comparison.put_back.add(name)

    def suggestion(self, name, crm, customer):
        rule = self.rules.get(name, ASK)
        if rule in (SOURCE, TARGET):
            return rule
        if rule == NEWEST:
            source_time, target_time = moment(crm.get("modifyTime")), moment(customer.get("_modified"))
            if source_time and target_time and source_time != target_time:
                return SOURCE if source_time > target_time else TARGET
        return ""

    def label(self, name):
        return FIELD_LABELS.get(name, name)

    # ---- customers on one side only ----------------------------------------------------------------

    def match(self, records, dingtalk, kingdee, first, plan):
        """Pair what is on one side only; propose or create the rest."""
        Status = SyncRecord.Status
        by_key = {record.source_key: record for record in records}
        views = {}
        for key, crm in dingtalk.items():
            view, result = self.dingtalk_view(crm)
            views[key] = view
            if not result.ok:
                plan.failed.append((by_key.get(key) or self.new_record(key, crm), "mapping",
                                    reasons.mapping_params(result)))
        dingtalk = {key: crm for key, crm in dingtalk.items() if key in views}
        kd_views = {number: self.kingdee_view(row) for number, row in kingdee.items()}
        by_tax, by_name = {}, {}
        for number, view in kd_views.items():
            if kingdee[number].get("_forbidden"):
                continue
            if view.get(self.tax_field):
                by_tax.setdefault(view[self.tax_field].strip().upper(), []).append(number)
            by_name.setdefault(normalised(view.get(self.name_field)), []).append(number)
        taken = set()
        for key in sorted(dingtalk):
            record = by_key.get(key)
            if record is not None and record.status == Status.HANDLED:
                continue
            view = views[key]
            tax = (view.get(self.tax_field) or "").strip().upper()
            candidates = by_tax.get(tax, []) if tax else []
            if not candidates:
                candidates = [number for number in by_name.get(normalised(view.get(self.name_field)), [])
                              if not tax or not kd_views[number].get(self.tax_field)]
            candidates = [number for number in candidates if number not in taken]
            if len(candidates) == 1:
                number = candidates[0]
                taken.add(number)
                plan.paired.append((record, key, dingtalk[key], number, kingdee[number], by_key))
            elif len(candidates) > 1:
                taken.update(candidates)
                plan.ambiguous.append((record, key, dingtalk[key], candidates))
            else:
                plan.only_dingtalk.append((record, key, dingtalk[key], first))
        for number in sorted(set(kingdee) - taken):
            if kingdee[number].get("_forbidden"):
                continue
            record = by_key.get(KINGDEE_PREFIX + number)
            if record is not None and record.status == Status.HANDLED:
                continue
            plan.only_kingdee.append((record, number, kingdee[number], first))

    def new_record(self, key, crm=None, number=""):
        record, _created = SyncRecord.objects.get_or_create(
            scheme=self.scheme, source_key=key,
            defaults={"run": self.run, "title": str((crm or {}).get("customer_name") or "")[:200],
                      "target_number": number})
        return record

    def new_records(self, wanted):
        """`new_record` for many at once (`wanted`: [(key, crm, number)]): {key: record}, in two queries however
        many customers the first matching finds on one side only."""
        if not wanted:
            return {}
        keys = [key for key, _crm, _number in wanted]
        found = {record.source_key: record for record in SyncRecord.objects.filter(scheme=self.scheme,
                                                                                   source_key__in=keys)}
        missing = [SyncRecord(scheme=self.scheme, source_key=key, run=self.run, target_number=number,
                              title=str((crm or {}).get("customer_name") or "")[:200])
                   for key, crm, number in dict((key, (key, crm, number)) for key, crm, number in wanted).values()
                   if key not in found]
        for record in SyncRecord.objects.bulk_create(missing, batch_size=500):
            found[record.source_key] = record
        return found

    # ---- writing ------------------------------------------------------------------------------------

    def write(self, plan):
        Status = SyncRecord.Status
        for record, code, params in plan.failed:
            self.settle(record, Status.FAILED, error_kind=SyncRecord.ErrorKind.MAPPING, reason_code=code,
                        reason_params=params, error="")
        # Removed on one side: disabled on the other, never deleted.
        forbid = [number for _record, number in plan.forbid]
        answers = self.guarded(self.target.forbid, forbid, {}) if forbid else {}
        for record, number in plan.forbid:
            outcome = answers.get(number)
            if outcome is not None and outcome.ok:
                self.counts["forbidden"] += 1
                self.log(record, FieldChange.Kind.FORBID, "kingdee", "FForbidStatus", "A", "B")
                self.settle(record, Status.SUCCEEDED, synced_state={**(record.synced_state or {}),
                                                                     "removed": "dingtalk"})
            else:
                self.refused(record, outcome.message if outcome else self.failure)
        flagged = self.guarded(self.source.flag, [key for _record, key in plan.flag], {}) if plan.flag else {}
        for record, key in plan.flag:
            if flagged.get(key) == "":
                self.counts["flagged"] += 1
                self.log(record, FieldChange.Kind.FLAG, "dingtalk", self.source.params["flag_field"], "",
                         self.source.params["flag_value"])
                self.settle(record, Status.SUCCEEDED, synced_state={**(record.synced_state or {}),
                                                                     "removed": "kingdee"})
            else:
                self.refused(record, flagged.get(key) or self.failure)
        self.write_pairs(plan.pairs)
        self.write_new_pairs(plan.paired)
        for record, key, crm, candidates in plan.ambiguous:
            record = record or self.new_record(key, crm)
            self.settle(record, Status.FAILED, error_kind=SyncRecord.ErrorKind.RULE, reason_code="ambiguous_match",
                        reason_params={"numbers": candidates}, error="", title=self.title(crm),
                        source_data=crm, when_changed=True)
        self.create_in_kingdee(plan.only_dingtalk)
        self.create_in_dingtalk(plan.only_kingdee)

    def write_pairs(self, pairs):
        Status = SyncRecord.Status
        to_kingdee = [(pair.customer["_id"], {name: self.wrap(name, value)
                                              for name, value in pair.comparison.to_target.items()})
                      for pair in pairs if pair.comparison.to_target]
        to_dingtalk = [(pair.record.source_key, pair.dingtalk_data) for pair in pairs if pair.dingtalk_data]
        kingdee_answers = self.guarded(self.target.update, to_kingdee, {}) if to_kingdee else {}
        dingtalk_answers = self.guarded(self.source.update, to_dingtalk, {}) if to_dingtalk else {}
        for pair in pairs:
            comparison = pair.comparison
            refused = []
            if comparison.to_target:
                outcome = kingdee_answers.get(pair.customer["_id"])
                if outcome is None or not outcome.ok:
                    refused.append(outcome.message if outcome else self.failure)
            if pair.dingtalk_data and dingtalk_answers.get(pair.record.source_key) != "":
                refused.append(dingtalk_answers.get(pair.record.source_key) or self.failure)
            if refused:
                self.refused(pair.record, "；".join(filter(None, refused)))
                continue
            put_back = comparison.put_back
            for name, value in comparison.to_target.items():
                kind = FieldChange.Kind.PUT_BACK if name in put_back else FieldChange.Kind.PUSH
                self.log(pair.record, kind, "kingdee", name, pair.sides[1][name], value)
            for name, value in comparison.to_source.items():
                kind = FieldChange.Kind.PUT_BACK if name in put_back else FieldChange.Kind.PUSH
                self.log(pair.record, kind, "dingtalk", name, pair.sides[0][name], value)
            self.counts["to_kingdee"] += bool(comparison.to_target)
            self.counts["to_dingtalk"] += bool(comparison.to_source)
            self.counts["put_back"] += len(put_back)
            state = after_sync(pair.state, *pair.sides, comparison)
            decided = {name: side for name, side in (pair.state.get("decided") or {}).items()
                       if name in comparison.conflicts}
            state = {key: value for key, value in state.items() if key not in ("decided", "proposal", "approved")}
            if decided:
                state["decided"] = decided
            fields = {"synced_state": state, "title": self.title(pair.crm), "source_data": pair.crm,
                      "target_id": str(pair.customer["_id"]), "source_number": pair.customer.get(self.tax_field, "")}
            for name in comparison.conflicts:
                if comparison.conflicts[name].get("violation"):
                    self.log(pair.record, FieldChange.Kind.QUEUED, "", name, pair.sides[1][name], pair.sides[0][name])
            if comparison.conflicts:
                self.counts["conflicts"] += 1
                code = "non_master_edit" if all(v.get("violation") for v in comparison.conflicts.values()) else \
                    "twoway_conflict"
                self.settle(pair.record, Status.CONFLICT, reason_code=code,
                            reason_params={"fields": comparison.conflicts}, error="", **fields)
            elif not comparison.quiet or pair.record.status != Status.SUCCEEDED or state != pair.record.synced_state:
                self.settle(pair.record, Status.SUCCEEDED, reason_code="", reason_params={}, error="",
                            error_kind="", **fields)
        self.flush()  # what was written to either side is in the ledger before the next call

    def write_new_pairs(self, paired):
        """Customers found on both sides by tax number or name: a ledger row each, compared at once."""
        if not paired:
            return
        plan = Plan()
        for record, key, crm, number, customer, by_key in paired:
            if record is None:
                record = self.new_record(key, crm, number)
            lone = by_key.get(KINGDEE_PREFIX + number)
            if lone is not None and lone.pk != record.pk:  # a proposal of the Kingdee customer: it is paired now
                SyncRecord.objects.filter(pk=lone.pk).delete()
            record.target_number, record.target_id = number, str(customer["_id"])
            record.status = SyncRecord.Status.SUCCEEDED if record.status != SyncRecord.Status.CONFLICT else \
                record.status
            record.synced_state = None
            SyncRecord.objects.filter(pk=record.pk).update(target_number=number, target_id=str(customer["_id"]),
                                                           synced_state=None, status=record.status)
            self.counts["paired"] += 1
            self.compare_pair(record, crm, customer, plan)
        for record, code, params in plan.failed:
            self.settle(record, SyncRecord.Status.FAILED, error_kind=SyncRecord.ErrorKind.MAPPING,
                        reason_code=code, reason_params=params, error="")
        for pair in plan.pairs:
            pair.record.status = ""  # always settle a new pair
        self.write_pairs(plan.pairs)

    def create_in_kingdee(self, lonely):
        Status = SyncRecord.Status
        todo = []
        made = self.new_records([(key, crm, "") for record, key, crm, _first in lonely if record is None])
        for record, key, crm, first in lonely:
            record = record or made[key]
            state = (record.synced_state or {}) if record is not None else {}
            if record is not None and record.status == Status.FAILED and record.reason_code == "mapping":
                continue
            if first or (record is not None and state.get("proposal") and not state.get("approved")):
                self.propose(record, crm, "kingdee")
                continue
            view, result = self.dingtalk_view(crm)
            if result.ok:
                todo.append((record, crm, view, result.payload))
        outcomes = self.guarded(self.target.create, [payload for _record, _crm, _view, payload in todo], []) \
            if todo else []
        outcomes += [None] * (len(todo) - len(outcomes))
        for (record, crm, view, payload), outcome in zip(todo, outcomes):
            if outcome is None:
                self.refused(record, self.failure)
            elif not outcome.ok:
                self.refused(record, outcome.message)
                continue
            self.counts["created_in_kingdee"] += 1
            self.log(record, FieldChange.Kind.CREATE, "kingdee", "FNumber", "", outcome.number)
            state = {"source": {n: view[n] for n in self.fields}, "target": {n: view[n] for n in self.fields}}
            self.settle(record, Status.SUCCEEDED, target_number=outcome.number, target_id=outcome.id,
                        synced_state=state, title=self.title(crm), source_data=crm, payload=payload,
                        reason_code="", reason_params={}, error="", error_kind="")
        self.flush()

    def create_in_dingtalk(self, lonely):
        Status = SyncRecord.Status
        fresh = []
        made = self.new_records([(KINGDEE_PREFIX + number, None, number) for record, number, _customer, _first
                                 in lonely if record is None])
        for record, number, customer, first in lonely:
            key = KINGDEE_PREFIX + number
            state = (record.synced_state or {}) if record is not None else {}
            record = record or made[key]
            if first or (state.get("proposal") and not state.get("approved")):
                self.propose(record, customer, "dingtalk", number=number)
                continue
            data, result = self.to_dingtalk(customer)
            if not result.ok:
                self.settle(record, Status.FAILED, error_kind=SyncRecord.ErrorKind.MAPPING, reason_code="mapping",
                            reason_params=reasons.mapping_params(result), error="")
                continue
            try:
                instance_id = self.source.create(data)
            except RemoteError as error:
                self.refused(record, error.message)
                continue
            self.counts["created_in_dingtalk"] += 1
            view = self.kingdee_view(customer)
            self.log(record, FieldChange.Kind.CREATE, "dingtalk", "instanceId", "", instance_id)
            # As if both sides had held Kingdee's values: what DingTalk derived on its own (a default owner, a
            # default type) is compared at once under the master rule, so the next run has nothing left to write.
            state = {"source": {n: view[n] for n in self.fields}, "target": {n: view[n] for n in self.fields}}
            self.settle(record, Status.SUCCEEDED, source_key=instance_id, target_number=number,
                        target_id=str(customer["_id"]), synced_state=state, payload=data,
                        title=str(customer.get(self.name_field) or "")[:200], reason_code="", reason_params={},
                        error="", error_kind="")
            record.source_key, record.target_number, record.synced_state, record.status = \
                instance_id, number, state, ""
            crm = {**data, "instanceId": instance_id, "owner": str(data.get("owner") or self.source.operator),
                   "modifyTime": ""}
            fresh.append((record, crm, customer))
        plan = Plan()
        for record, crm, customer in fresh:
            self.compare_pair(record, crm, customer, plan)
        self.write_pairs(plan.pairs)

    def propose(self, record, data, side, number=""):
        """Found on one side only during the first matching: waits for a person's approval."""
        state = record.synced_state or {}
        if record.status == SyncRecord.Status.WAITING and state.get("proposal") == side:
            return
        self.counts["proposed"] += 1
        title = self.title(data) if side == "kingdee" else str(data.get(self.name_field) or "")[:200]
        self.settle(record, SyncRecord.Status.WAITING, reason_code="awaiting_approval", reason_params={"side": side},
                    error="", synced_state={"proposal": side, "approved": False}, title=title,
                    source_data={k: v for k, v in data.items() if not k.startswith("_")} if side == "dingtalk" else
                    data, source_number=number)

    # ---- the ledger ---------------------------------------------------------------------------------

    def title(self, crm):
        return str((crm or {}).get("customer_name") or "")[:200]

    def wrap(self, name, value):
        return {"FNumber": value} if self.references.get(name) and value != "" else value

    def guarded(self, call, items, default):
        """A batch call to either side; when it fails as a whole, its records fail with the remote's words (the
        next run compares them again: nothing half-written is taken for done)."""
        try:
            return call(items)
        except RemoteError as error:
            self.failure = error.message
            ledger.add_reason(self.run, "remote_failed", message=error.message)
            return default

    def refused(self, record, message):
        self.settle(record, SyncRecord.Status.FAILED, error_kind=SyncRecord.ErrorKind.REJECTED,
                    reason_code="target_refused", reason_params={"message": message}, error=message)

    def settle(self, record, status, when_changed=False, **fields):
        """The record's new state in the ledger. Kept until `flush`, which writes the updates kept so far in one
        transaction instead of one commit per customer; a failure (which counts an attempt) is written at once,
        with what was kept for the record before it."""
        if when_changed and record.status == status and record.reason_params == fields.get("reason_params"):
            return
        now = timezone_now()
        if status == SyncRecord.Status.SUCCEEDED:
            fields.update(booked_at=now, booked_via=self.via)
        fields = {"status": status, "run": self.run, "updated_at": now, **fields}
        if status == SyncRecord.Status.FAILED:
            fields = {**self.settled.pop(record.pk, {}), **fields, "attempts": F("attempts") + 1,
                      "last_attempt_at": now}
            SyncRecord.objects.filter(pk=record.pk).update(**fields)
            return
        self.settled[record.pk] = {**self.settled.get(record.pk, {}), **fields}

    def flush(self):
        """Write the kept ledger updates in one transaction (one commit for the lot, not one per customer; Django's
        `bulk_update` would build a CASE per field and row, which costs more CPU than it saves)."""
        settled, self.settled = self.settled, {}
        if not settled:
            return
        with transaction.atomic():
            for pk, fields in settled.items():
                SyncRecord.objects.filter(pk=pk).update(**fields)

    def log(self, record, kind, side, name, before, after):
        self.changes.append(FieldChange(scheme=self.scheme, run=self.run, source_key=record.source_key,
                                        number=record.target_number, title=record.title, kind=kind, side=side,
                                        field=name, before=str(before or ""), after=str(after or "")))

    def store_changes(self):
        FieldChange.objects.bulk_create(self.changes, batch_size=500)
        self.changes = []


class Plan:
    def __init__(self):
        self.pairs, self.paired, self.ambiguous, self.failed = [], [], [], []
        self.only_dingtalk, self.only_kingdee, self.forbid, self.flag = [], [], [], []


@dataclass
class PairPlan:
    record: object
    crm: dict
    customer: dict
    state: dict
    sides: tuple
    comparison: Comparison
    dingtalk_data: dict


FIELD_LABELS = {"FName": "客户名称", "FShortName": "简称", "FSOCIALCRECODE": "统一社会信用代码",
                "FTAXREGISTERCODE": "纳税登记号", "FTEL": "联系电话", "FADDRESS": "通讯地址", "FSELLER": "销售员",
                "FCustTypeId": "客户类别"}


def unsigned(scheme, fields):
    """The two-way fields whose master in force is not the one IT signed last (never signed, or changed since
    outside the rules page, e.g. in the scheme's settings JSON)."""
    in_force = (scheme.target_params or {}).get("master_rules") or {}
    signed = {}
    for name, master in MasterRule.objects.filter(scheme=scheme).order_by("decided_at", "id").values_list(
            "field", "master"):
        signed[name] = master
    return [name for name in fields if not in_force.get(name) or signed.get(name) != in_force.get(name)]


def rules_of(master_rules, fields, dingtalk_key):
    """{field: SOURCE | TARGET | NEWEST} from the signed decisions; a field nobody decided is ASK (a person
    decides every difference); 负责人 (owner) cannot be written into DingTalk, so DingTalk is its master."""
    rules = {name: MASTER_RULE[master] for name, master in master_rules.items() if master in MASTER_RULE}
    for name in fields:
        if dingtalk_key.get(name) in UNWRITABLE:
            rules[name] = SOURCE
    return rules


def timezone_now():
    return timezone.now()
