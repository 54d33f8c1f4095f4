from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext, gettext_lazy as _

SOURCES: dict[str, type["SourceAdapter"]] = {}
TARGETS: dict[str, type["TargetAdapter"]] = {}


@dataclass(frozen=True)
class Param:
    """One setting of an adapter (stored in the scheme's source/target settings JSON). The admin draws a form
    field from it (integrations/admin/params.py): `choices` ((value, label) pairs) makes a select."""

    label: str
    type: type = str
    required: bool = False
    default: object = None
    help: str = ""
    choices: tuple = ()


@dataclass(frozen=True)
class Listed:
    """A key found by listing. `finished`: True/False when the listing says so, None when unknown.
    `bound`: a lower bound of the record's start time, so the cursor never passes an unfinished record.
    `data`: the whole record when the listing already carries it (a page of a Kingdee query, a department's
    members): the engine does not fetch it again. `removed`: the record is gone at the source (an employee
    who left, a removed department, a deleted customer): the target disables it, never deletes it."""

    key: str
    finished: bool | None = None
    bound: datetime | None = None
    data: dict | None = None
    removed: bool = False


@dataclass(frozen=True)
class Verdict:
    WRITE = "write"
    WAIT = "wait"
    SKIP = "skip"
    PERSON = "person"  # a rule says a person must decide: recorded as failed, with the reason
    REMOVE = "remove"  # gone at the source: `TargetAdapter.remove` disables it in the target

    action: str
    reason: str = ""
    # Reasons are data: a code of `integrations.reasons` and its parameters, rendered for the reader.
    code: str = ""
    params: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """The target's answer for one item of a batch."""

    ok: bool
    id: str = ""
    number: str = ""
    message: str = ""  # the remote's own words, verbatim
    response: dict = field(default_factory=dict)
    code: str = ""  # a reason code when not ok (see `Verdict.code`)
    params: dict = field(default_factory=dict)
    # From `find` on master-data and two-way targets: the record's current field values in the target. From
    # `write` and `remove`: the values now written, kept by the engine as `synced_state["target"]`.
    state: dict | None = None
    # Refused for now, not for good (a closed period, a dependency not yet written): the record waits.
    waiting: bool = False


@dataclass(frozen=True)
class Change:
    """What a master-data or two-way target will do for one key (`TargetAdapter.plan`)."""

    CREATE = "create"
    UPDATE = "update"  # only `fields` are sent (Kingdee NeedUpDateFields), with the existing FID
    ENABLE = "enable"  # it was disabled (a re-hire): enable it, then update `fields`
    UNCHANGED = "unchanged"  # nothing is written
    CONFLICT = "conflict"  # a field the portal wrote was changed in the target since: a person decides

    action: str
    payload: dict | None = None
    fields: tuple = ()
    # {field: {"source": new value, "target": the target's value now, "written": what the portal wrote last}}
    conflicts: dict = field(default_factory=dict)


class Adapter:
    kind = ""
    label = ""
    connection_kind = ""
    settings_schema: dict[str, Param] = {}

    def __init__(self, params, client):
        self.params = {**self.defaults(), **(params or {})}
        self.client = client

    @classmethod
    def defaults(cls):
        return {name: param.default for name, param in cls.settings_schema.items() if param.default is not None}

    @classmethod
    def check(cls, params):
        """Problems with the settings, as a list of messages (translated)."""
        if not isinstance(params, dict):
            return [gettext("Settings must be a JSON object.")]
        problems = []
        for name in sorted(set(params) - set(cls.settings_schema)):
            problems.append(gettext("Unknown setting “%(name)s”.") % {"name": name})
        for name, param in cls.settings_schema.items():
            value = params.get(name)
            if value in (None, ""):
                if param.required:
                    problems.append(gettext("“%(name)s” is required.") % {"name": name})
            elif param.type is bool and not isinstance(value, bool):
                problems.append(gettext("“%(name)s” must be true or false.") % {"name": name})
            elif param.type is dict and not isinstance(value, dict):
                problems.append(gettext("“%(name)s” must be a JSON object.") % {"name": name})
            elif param.type is str and not isinstance(value, str):
                problems.append(gettext("“%(name)s” must be text.") % {"name": name})
            elif param.type is int and (not isinstance(value, int) or isinstance(value, bool)):
                problems.append(gettext("“%(name)s” must be a whole number.") % {"name": name})
            elif param.choices and value not in [choice for choice, _label in param.choices]:
                problems.append(gettext("“%(name)s” must be one of %(choices)s.") % {
                    "name": name, "choices": ", ".join(str(choice) for choice, _label in param.choices)})
        return problems


class SourceAdapter(Adapter):
    """Reads records: list keys for a window, fetch one record, judge whether it is ready to write."""

    # False for sources without a time window (a full list every run): the engine keeps no cursor.
    windowed = True

    def list(self, since, until, recheck_since=None):
        """Yield `Listed` for every record in [since, until). With `recheck_since`, also report the records of
        [recheck_since, since) that are still unfinished (finished=False): the engine re-reads the waiting
        records that were not reported, because they have finished."""
        raise NotImplementedError

    def keys(self, since, until):
        """The keys of [since, until), by listing only (no detail call): what a backfill would cover."""
        return (listed.key for listed in self.list(since, until))

    def fetch(self, key):
        """The record as a dict for mapping; raises RemoteError."""
        raise NotImplementedError

    def verdict(self, data):
        return Verdict(Verdict.WRITE)

    def summary(self, data):
        """Columns for the ledger: title, number, originator, amount (Decimal or None), time (aware or None)."""
        return {"title": "", "number": "", "originator": "", "amount": None, "time": None}

    def settled(self, items):
        """MASTER: inside the transaction that settles written records in the ledger, with (key, data, action,
        outcome) of each one written or removed (action: a `Change` action or "remove")."""
        return None

    def write_back(self, booked, template):
        """After a batch: tell the source what was booked. `booked` is a list of (data, target number)."""
        return 0


class TargetAdapter(Adapter):
    """Writes payloads in batches and finds what is already in the target.

    `mode` says how the engine treats a key:
    - BILL: written once per key, ever. Before a key's first write the engine asks `find` (one call per
      batch) and adopts a record another scheme or a lost attempt already wrote: never twice, across schemes.
    - MASTER: upserted by business number. A payload whose fingerprint equals the last one written is not
      written at all (no call). Otherwise `find` returns the current record (`Outcome.state`) and `plan`
      decides create / update of the changed fields only / enable / conflict. `depends_on` orders a run
      (a parent department before its children; a record whose dependency failed waits with that reason).
      A key removed at the source is disabled by `remove`, never deleted.
    - MESSAGE: sent once per key (robot, work notice); the key carries the de-duplication window (e.g. a
      material and a day), so the ledger alone keeps an alert from repeating. `find` is never called.
    - TWOWAY: both sides are sources and targets (customers: DingTalk CRM ⇄ Kingdee). The engine runs
      `integrations.engine.twoway.TwoWayBooking` instead of the one-way loop: it reads both sides whole, pairs
      records, compares them field by field with the signed master rule and writes each side's changes.
    """

    BILL, MASTER, MESSAGE, TWOWAY = "bill", "master", "message", "twoway"
    mode = BILL
    # A key written twice makes two documents (bills, whatever the mode): schemes writing the same form take
    # turns to search and write. Master data needs no turns: its business number is unique in the target.
    makes_documents = None

    @property
    def takes_turns(self):
        return self.mode == self.BILL if self.makes_documents is None else self.makes_documents

    def __init__(self, params, client, dedupe_field=""):
        super().__init__(params, client)
        self.dedupe_field = dedupe_field

    def with_dedupe_key(self, key, payload):
        """The dedupe field always carries the source key, whatever the mapping says: reconciliation needs it."""
        return {**payload, self.dedupe_field: key} if self.dedupe_field else payload

    def write(self, items):
        """`items` is a list of (key, payload); returns one Outcome per item, in order. Raises RemoteError
        when the batch as a whole failed (TransientError: the outcome is unknown, reconcile before writing).
        MASTER targets receive the payload of `plan`'s Change (with the FID and NeedUpDateFields)."""
        raise NotImplementedError

    def find(self, keys):
        """{key: Outcome} for keys that already exist in the target (by the dedupe field or business number).
        BILL targets get plain keys. MASTER targets get (key, payload) pairs — the new payload, or for a removal
        the one written last — and fill `Outcome.state` with the record's current field values."""
        raise NotImplementedError

    def plan(self, key, payload, existing, written):
        """MASTER: the Change for one key, from the new `payload`, the target's record now (`existing`, an
        Outcome from `find`, or None) and the ledger's `synced_state` (`written`, or None):
        {"target": the field values the portal wrote last (the `Outcome.state` its write returned),
         "kept": fields a person chose to keep as the target has them (the portal no longer writes them)}."""
        if existing is None:
            return Change(Change.CREATE, payload)
        return Change(Change.UNCHANGED)

    def depends_on(self, key, payload):
        """MASTER: keys of the same scheme that must be written before this one."""
        return []

    def remove(self, items):
        """Disable (Kingdee Forbid) the records of keys gone at the source; `items` is a list of (key, existing
        Outcome or None). One Outcome per item, in order. Targets that cannot disable say so per item."""
        return [Outcome(False, message=gettext("This target cannot disable records."), code="cannot_remove")
                for _item in items]

    def after_write(self, outcomes):
        """Follow-up operations on the written items (submit, audit); returns {number: Outcome} of failures (its
        code and params say which step failed, `message` the remote's words)."""
        return {}


def register_source(cls):
    SOURCES[cls.kind] = cls
    return cls


def register_target(cls):
    TARGETS[cls.kind] = cls
    return cls


def source_choices():
    return [(kind, cls.label) for kind, cls in SOURCES.items()]


def target_choices():
    return [(kind, cls.label) for kind, cls in TARGETS.items()]


def source_class(kind):
    return SOURCES[kind]


def target_class(kind):
    return TARGETS[kind]


def check_settings(side, kind, params, connection):
    """Form errors for one side of a scheme: {field name: message}."""
    registry = SOURCES if side == "source" else TARGETS
    cls = registry.get(kind)
    if cls is None:
        return {f"{side}_kind": _("Unknown kind.")}
    errors = {}
    problems = cls.check(params)
    if problems:
        errors[f"{side}_params"] = " ".join(str(problem) for problem in problems)
    if connection is not None and connection.kind != cls.connection_kind:
        errors[f"{side}_connection"] = gettext("“%(kind)s” needs a connection of kind “%(wanted)s”.") % {
            "kind": cls.label,
            "wanted": connection.Kind(cls.connection_kind).label,
        }
    return errors
