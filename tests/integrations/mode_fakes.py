"""Adapters of every target mode over in-memory remotes, for the engine's own tests of those modes."""

import itertools
from collections import Counter

from integrations.adapters import (
    Change, Listed, Outcome, SourceAdapter, TargetAdapter, register_source, register_target,
)
from integrations.clients.errors import TransientError


class Directory:
    """A source system of records with fields, some of them gone."""

    def __init__(self):
        self.records, self.gone, self.calls = {}, set(), Counter()

    def list(self):
        self.calls["list"] += 1
        for key, data in self.records.items():
            yield Listed(key, True, data=dict(data))
        for key in sorted(self.gone):
            yield Listed(key, True, removed=True)


class Store:
    """A target system of master data: records by number, enabled or disabled, never deleted."""

    def __init__(self):
        self.records, self.calls, self.writes, self.refuse = {}, Counter(), [], set()
        self.ids = itertools.count(1)
        self.fail_next = 0

    def call(self, name):
        self.calls[name] += 1
        if self.fail_next:
            self.fail_next -= 1
            raise TransientError("connection reset", system="store")


class Remote:
    directory = Directory()
    store = Store()
    sent = []


@register_source
class DirectorySource(SourceAdapter):
    kind = "test.directory"
    label = "test directory"
    connection_kind = "dingtalk"
    windowed = False

    def list(self, since, until, recheck_since=None):
        return Remote.directory.list()

    def summary(self, data):
        return {"title": data.get("name", ""), "number": "", "originator": "", "amount": None, "time": None}


@register_target
class StoreTarget(TargetAdapter):
    kind = "test.store"
    label = "test master data"
    connection_kind = "kingdee"
    mode = TargetAdapter.MASTER

    def find(self, keys):
        Remote.store.call("find")
        found = {}
        for key in keys:
            key = key[0] if isinstance(key, tuple) else key
            record = Remote.store.records.get(key)
            if record is not None:
                found[key] = Outcome(True, record["id"], key, state={**record["fields"], "_enabled": record["enabled"]})
        return found

    def plan(self, key, payload, existing, written):
        if existing is None:
            return Change(Change.CREATE, {"key": key, "fields": payload})
        written = written or {}
        kept, last = set(written.get("kept") or []), written.get("target") or {}
        state = existing.state
        changed = [name for name, value in payload.items() if name not in kept and state.get(name) != value]
        conflicts = {name: {"source": payload[name], "target": state.get(name), "written": last[name]}
                     for name in changed if name in last and state.get(name) != last[name]}
        if conflicts:
            return Change(Change.CONFLICT, conflicts=conflicts)
        if not changed and state["_enabled"]:
            return Change(Change.UNCHANGED)
        action = Change.UPDATE if state["_enabled"] else Change.ENABLE
        return Change(action, {"key": key, "fields": {name: payload[name] for name in changed}}, tuple(changed))

    def depends_on(self, key, payload):
        return [payload["parent"]] if payload.get("parent") else []

    def write(self, items):
        Remote.store.call("write")
        outcomes = []
        for key, change in items:
            Remote.store.writes.append((key, dict(change["fields"])))
            parent = change["fields"].get("parent")
            if key in Remote.store.refuse:
                outcomes.append(Outcome(False, message="名称重复", code="target_refused", params={"message": "名称重复"}))
            elif parent and parent not in Remote.store.records:
                outcomes.append(Outcome(False, message="上级不存在", waiting=True, code="dependency_missing"))
            else:
                record = Remote.store.records.setdefault(key, {"id": str(next(Remote.store.ids)), "fields": {},
                                                               "enabled": True})
                record["fields"].update(change["fields"])
                record["enabled"] = True
                outcomes.append(Outcome(True, record["id"], key, state=dict(record["fields"])))
        return outcomes

    def remove(self, items):
        Remote.store.call("remove")
        outcomes = []
        for key, _existing in items:
            if key in Remote.store.records:
                Remote.store.records[key]["enabled"] = False
            outcomes.append(Outcome(True, number=key))
        return outcomes


@register_target
class MessageTarget(TargetAdapter):
    kind = "test.messages"
    label = "test messages"
    connection_kind = "kingdee"
    mode = TargetAdapter.MESSAGE

    def write(self, items):
        Remote.store.call("send")
        Remote.sent.extend(key for key, _payload in items)
        return [Outcome(True, number=key) for key, _payload in items]

    def find(self, keys):
        raise AssertionError("a message target is never searched")
