"""Scheme versions: each committed change to a scheme's settings, mapping rows or value maps is kept.

Saves anywhere (the admin, an import, `load_template`, the shell) send model signals; the first one in a
transaction registers one snapshot of that scheme for after the commit, so an admin save with thirty
mapping rows makes one version, and a save that changed nothing makes none (same digest as the last).
Who saved comes from `acting()` (the admin's requests set it through `ActorMiddleware`).

A snapshot holds no database ids and names connections by name, so it is also the body of an
exported scheme file (`scheme_file`) and can be applied to another portal.
"""

import hashlib
import json
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext

from integrations import mapping
from integrations.models import Connection, FieldMapping, Scheme, SchemeVersion, ValueMap, ValueMapEntry

logger = logging.getLogger("integrations.versions")
Action = SchemeVersion.Action

SETTINGS = (
    "name", "description", "enabled", "source_connection", "source_kind", "source_params", "target_connection",
    "target_kind", "target_params", "dedupe_field", "batch_size", "schedule_kind", "interval_minutes", "cron",
    "event_trigger", "start_from", "writeback", "writeback_template", "alert_connection", "alert_after_failed_runs",
    "alert_window_minutes", "reconcile_daily", "reconcile_hour",
)
CONNECTIONS = ("source_connection", "target_connection", "alert_connection")
ROW_FIELDS = ("position", "target", "source", "transform", "params", "required", "default", "note")


# ---- snapshots ---------------------------------------------------------------------------------


def snapshot(scheme):
    """The scheme as plain JSON: {"settings": {…}, "mappings": [row, …], "value_maps": [map, …]}."""
    names = dict(Connection.objects.filter(
        pk__in=[getattr(scheme, f"{field}_id") for field in CONNECTIONS]).values_list("pk", "name"))
    settings = {}
    for field in SETTINGS:
        if field in CONNECTIONS:
            settings[field] = names.get(getattr(scheme, f"{field}_id"))
        elif field == "start_from":
            settings[field] = scheme.start_from.isoformat() if scheme.start_from else None
        else:
            settings[field] = getattr(scheme, field)
    rows = [dict(zip(ROW_FIELDS, values)) for values in FieldMapping.objects.filter(scheme=scheme)
            .order_by("position", "id").values_list(*ROW_FIELDS)]
    maps = {pk: {"name": name, "description": description, "entries": []} for pk, name, description in
            ValueMap.objects.filter(scheme=scheme).values_list("pk", "name", "description")}
    for map_id, source, target, note in ValueMapEntry.objects.filter(value_map__scheme=scheme).order_by(
            "source_value").values_list("value_map_id", "source_value", "target_value", "note"):
        maps[map_id]["entries"].append({"source": source, "target": target, "note": note})
    return {"settings": settings, "mappings": rows, "value_maps": sorted(maps.values(), key=lambda m: m["name"])}


def digest(state):
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def record(scheme_id, *, user_id=None, action=None, restored_from=None):
    """A new version if the scheme differs from its latest one; None otherwise (or if it is gone)."""
    scheme = Scheme.objects.filter(pk=scheme_id).first()
    if scheme is None:
        return None
    state = snapshot(scheme)
    fingerprint = digest(state)
    for _attempt in range(3):
        latest = scheme.versions.order_by("-number").first()
        if latest is not None and latest.digest == fingerprint:
            return None
        try:
            with transaction.atomic():
                return SchemeVersion.objects.create(
                    scheme=scheme, number=latest.number + 1 if latest else 1, created_by_id=user_id,
                    action=action or (Action.CHANGED if latest else Action.CREATED), restored_from=restored_from,
                    snapshot=state, digest=fingerprint, changes=diff(latest.snapshot if latest else None, state),
                )
        except IntegrityError:  # another process numbered a version at the same moment: number again
            continue
    raise RuntimeError(f"could not number a new version of scheme {scheme_id}")


# ---- who saved: set by the admin's requests and by imports and restores -------------------------


@dataclass(frozen=True)
class Actor:
    user: object = None  # a user, or a callable returning one (the request's lazy user)
    action: str | None = None
    restored_from: int | None = None

    def user_id(self):
        user = self.user() if callable(self.user) else self.user
        return user.pk if getattr(user, "is_authenticated", False) else None


_actor = ContextVar("scheme_version_actor", default=Actor())


@contextmanager
def acting(user=None, action=None, restored_from=None):
    token = _actor.set(Actor(user, action, restored_from))
    try:
        yield
    finally:
        _actor.reset(token)


class ActorMiddleware:
    """Versions saved while handling a request name the request's user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting(user=lambda: getattr(request, "user", None)):
            return self.get_response(request)


class _Snapshot:
    """The on-commit callback of one scheme; recognisable, so one transaction registers it once."""

    def __init__(self, scheme_id, actor):
        self.scheme_id, self.user_id = scheme_id, actor.user_id()
        self.action, self.restored_from = actor.action, actor.restored_from
        self.done = False

    def __call__(self):
        self.done = True
        try:
            record(self.scheme_id, user_id=self.user_id, action=self.action, restored_from=self.restored_from)
        except Exception:
            # The change itself is committed and must stand; a missing version is logged, not raised.
            logger.exception("could not record a version of scheme %s", self.scheme_id)


def touched(scheme_id):
    if scheme_id is None:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        isinstance(func, _Snapshot) and func.scheme_id == scheme_id and not func.done
        for _sids, func, *_rest in connection.run_on_commit
    ):
        return
    transaction.on_commit(_Snapshot(scheme_id, _actor.get()))


def _scheme_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        touched(instance.pk)


def _row_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        touched(instance.scheme_id)


def _entry_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        touched(ValueMap.objects.filter(pk=instance.value_map_id).values_list("scheme_id", flat=True).first())


def connect_signals():
    post_save.connect(_scheme_changed, sender=Scheme, dispatch_uid="versions.scheme")
    for model, handler in ((FieldMapping, _row_changed), (ValueMap, _row_changed), (ValueMapEntry, _entry_changed)):
        post_save.connect(handler, sender=model, dispatch_uid=f"versions.save.{model.__name__}")
        post_delete.connect(handler, sender=model, dispatch_uid=f"versions.delete.{model.__name__}")


# ---- applying a snapshot: restore, import -------------------------------------------------------


@transaction.atomic
def restore(version, user=None):
    """The scheme becomes exactly what the version holds; the restore itself is a new version."""
    with acting(user=user, action=Action.RESTORED, restored_from=version.number):
        return apply(version.scheme, version.snapshot)


def resolve_connections(settings):
    """{field: Connection} for the connection names of a snapshot; ValidationError naming each missing one."""
    found, errors = {}, []
    for field in CONNECTIONS:
        name = settings.get(field)
        if not name:
            found[field] = None
            continue
        found[field] = Connection.objects.filter(name=name).first()
        if found[field] is None:
            errors.append(gettext("This portal has no connection named “%(name)s” (%(role)s). Create it with the "
                                  "same name first, then try again.") % {
                "name": name, "role": Scheme._meta.get_field(field).verbose_name})
    if errors:
        raise ValidationError(errors)
    return found


def apply(scheme, state):
    """Write a snapshot onto `scheme` (saved or new): settings, value maps, then mapping rows, each validated.
    Raises ValidationError with messages that name the row or field. Call inside a transaction."""
    settings = state["settings"]
    connections = resolve_connections(settings)
    for field in SETTINGS:
        setattr(scheme, field, connections[field] if field in CONNECTIONS else settings.get(field))
    scheme.start_from = settings.get("start_from") or None
    _validate(scheme, gettext("Scheme settings"))
    scheme.save()
    _apply_value_maps(scheme, state.get("value_maps", []))
    scheme.mappings.all().delete()
    for spec in state.get("mappings", []):
        row = FieldMapping(scheme=scheme, **{field: spec[field] for field in ROW_FIELDS if field in spec})
        _validate(row, gettext("Mapping row %(target)s") % {"target": spec.get("target", "?")})
        row.save()
    return scheme


def _apply_value_maps(scheme, specs):
    wanted = {spec["name"]: spec for spec in specs}
    scheme.value_maps.exclude(name__in=list(wanted)).delete()
    for name, spec in wanted.items():
        value_map, _created = ValueMap.objects.update_or_create(
            scheme=scheme, name=name, defaults={"description": spec.get("description", "")})
        value_map.entries.all().delete()
        entries = [ValueMapEntry(value_map=value_map, source_value=entry["source"], target_value=entry["target"],
                                 note=entry.get("note", "")) for entry in spec.get("entries", [])]
        for entry in entries:
            _validate(entry, gettext("Value map “%(map)s”, entry “%(value)s”") % {"map": name,
                                                                                 "value": entry.source_value})
        ValueMapEntry.objects.bulk_create(entries)


def _validate(instance, where):
    try:
        instance.full_clean()
    except ValidationError as error:
        raise ValidationError([located(instance, where, field, message)
                               for field, messages in error.message_dict.items() for message in messages]) from None


def located(instance, where, field, message):
    try:
        label = instance._meta.get_field(field).verbose_name
    except FieldDoesNotExist:  # NON_FIELD_ERRORS, or a message about something that is not a field
        return gettext("%(where)s: %(message)s") % {"where": where, "message": message}
    return gettext("%(where)s, %(field)s: %(message)s") % {"where": where, "field": label, "message": message}


# ---- what changed ------------------------------------------------------------------------------


def diff(old, new):
    """Structured changes from snapshot `old` to `new` (see `describe` for the words)."""
    if old is None:
        return [{"part": "created", "mappings": len(new["mappings"]), "value_maps": len(new["value_maps"])}]
    changes = [{"part": "setting", "field": field, "old": old["settings"].get(field), "new": new["settings"].get(field)}
               for field in SETTINGS if old["settings"].get(field) != new["settings"].get(field)]
    changes += _keyed_changes("mapping", old["mappings"], new["mappings"], "target", ROW_FIELDS)
    old_maps = {spec["name"]: spec for spec in old["value_maps"]}
    for spec in new["value_maps"]:
        before = old_maps.pop(spec["name"], None)
        if before is None:
            changes.append({"part": "value_map", "change": "added", "key": spec["name"],
                            "entries": len(spec["entries"])})
            continue
        entries = _keyed_changes("entry", before["entries"], spec["entries"], "source", ("target", "note"))
        if entries or before.get("description") != spec.get("description"):
            changes.append({"part": "value_map", "change": "changed", "key": spec["name"], "entries": entries})
    changes += [{"part": "value_map", "change": "removed", "key": name} for name in old_maps]
    return changes


def _keyed_changes(part, old_items, new_items, key, fields):
    before = {item[key]: item for item in old_items}
    changes = []
    for item in new_items:
        previous = before.pop(item[key], None)
        if previous is None:
            changes.append({"part": part, "change": "added", "key": item[key], "item": item})
        else:
            fields_changed = {field: [previous.get(field), item.get(field)] for field in fields
                              if previous.get(field) != item.get(field)}
            if fields_changed:
                changes.append({"part": part, "change": "changed", "key": item[key], "fields": fields_changed})
    changes += [{"part": part, "change": "removed", "key": name, "item": item} for name, item in before.items()]
    return changes


def shown(value):
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def shown_field(model, name, value):
    """A stored value as its field shows it: a choice by its label (a transform's name, a schedule kind)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return shown(value)
    if name == "transform" and value in mapping.TRANSFORMS:
        return gettext(mapping.TRANSFORMS[value].label)
    if field.choices and value not in (None, ""):
        return str(dict(field.flatchoices).get(value, value))
    return shown(value)


def _field_changes(model, fields):
    return gettext("; ").join(f"{model._meta.get_field(field).verbose_name} {shown_field(model, field, old)} → "
                              f"{shown_field(model, field, new)}" for field, (old, new) in fields.items())


def describe(change):
    """One change as a sentence for the history page."""
    part, kind = change["part"], change.get("change")
    if part == "created":
        return gettext("First version: %(rows)d mapping rows, %(maps)d value maps.") % {
            "rows": change["mappings"], "maps": change["value_maps"]}
    if part == "setting":
        return gettext("%(field)s: %(old)s → %(new)s") % {
            "field": Scheme._meta.get_field(change["field"]).verbose_name,
            "old": shown_field(Scheme, change["field"], change["old"]),
            "new": shown_field(Scheme, change["field"], change["new"])}
    if part == "mapping":
        if kind == "changed":
            return gettext("Mapping row %(target)s: %(fields)s") % {
                "target": change["key"], "fields": _field_changes(FieldMapping, change["fields"])}
        item = change["item"]
        template = gettext("Mapping row %(target)s added (%(transform)s ← %(source)s)") if kind == "added" else gettext(
            "Mapping row %(target)s removed")
        return template % {"target": change["key"], "transform": shown_field(FieldMapping, "transform",
                                                                             item.get("transform")),
                           "source": item.get("source") or "—"}
    if kind == "added":
        return gettext("Value map “%(map)s” added (%(count)d entries)") % {"map": change["key"],
                                                                          "count": change["entries"]}
    if kind == "removed":
        return gettext("Value map “%(map)s” removed") % {"map": change["key"]}
    parts = [describe_entry(entry) for entry in change["entries"]] or [gettext("description changed")]
    return gettext("Value map “%(map)s”: %(changes)s") % {"map": change["key"], "changes": gettext("; ").join(parts)}


def describe_entry(entry):
    if entry["change"] == "added":
        return gettext("%(source)s → %(target)s added") % {"source": entry["key"], "target": entry["item"]["target"]}
    if entry["change"] == "removed":
        return gettext("%(source)s removed") % {"source": entry["key"]}
    old, new = entry["fields"].get("target", [None, None])
    if "target" in entry["fields"]:
        return gettext("%(source)s: %(old)s → %(new)s") % {"source": entry["key"], "old": old, "new": new}
    return gettext("%(source)s: note changed") % {"source": entry["key"]}
