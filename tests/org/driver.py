"""A stand-in for the engine's master-data mode, to test the adapters alone: list → map → find → plan → write,
parents first, removals by `remove`. It keeps its own `written` state per key, as the ledger would."""

from integrations import mapping
from integrations.adapters import Change, Verdict


class Driver:
    def __init__(self, source, target, rows, value_maps=None):
        self.source, self.target, self.rows = source, target, rows
        self.lookups = mapping.Lookups(value_maps=value_maps or {})
        self.written = {}  # key → {"target": state written, "kept": [...]}
        self.fingerprints = {}
        self.payloads = {}  # key → the last payload written (the ledger's `payload`)
        self.log = []

    def sync(self, listed):
        """One pass over `listed` (Listed items); returns {key: Change action or outcome text}."""
        results, items = {}, []
        for entry in listed:
            data = entry.data if entry.data is not None else self.source.fetch(entry.key)
            verdict = Verdict(Verdict.REMOVE) if entry.removed else self.source.verdict(data)
            if verdict.action == Verdict.REMOVE:
                existing = self.target.find([(entry.key, self.payloads.get(entry.key))]).get(entry.key)
                outcome = self.target.remove([(entry.key, existing)])[0]
                results[entry.key] = "removed" if outcome.ok else f"refused: {outcome.message}"
                self.fingerprints.pop(entry.key, None)  # a re-hire with the same fields must be written
                continue
            if verdict.action != Verdict.WRITE:
                results[entry.key] = verdict.action
                continue
            built = mapping.build_payload(self.rows, data, self.lookups)
            assert built.ok, [cell.render_error() for cell in built.errors]
            items.append((entry.key, built.payload))
        order = self.ordered(items)
        for key, payload in order:
            if self.fingerprints.get(key) == repr(payload):
                results[key] = Change.UNCHANGED
                continue
            existing = self.target.find([(key, payload)]).get(key)
            change = self.target.plan(key, payload, existing, self.written.get(key))
            results[key] = change.action
            if change.action in (Change.UNCHANGED, Change.CONFLICT):
                self.log.append((key, change))
                if change.action == Change.UNCHANGED:
                    self.fingerprints[key] = repr(payload)
                continue
            outcome = self.target.write([(key, change.payload)])[0]
            if not outcome.ok:
                results[key] = "waiting" if outcome.waiting else f"failed: {outcome.message}"
                continue
            self.written[key] = {"target": outcome.state, "kept": self.written.get(key, {}).get("kept", []),
                                 "number": outcome.number, "response": outcome.response}
            self.fingerprints[key] = repr(payload)
            self.payloads[key] = payload
        return results

    def ordered(self, items):
        by_key = dict(items)
        done, order = set(), []

        def visit(key):
            if key in done:
                return
            done.add(key)
            for parent in self.target.depends_on(key, by_key[key]):
                if parent in by_key:
                    visit(parent)
            order.append((key, by_key[key]))

        for key in by_key:
            visit(key)
        return order
