"""One scheme as one JSON file: settings, mapping rows and value maps, connections by name (never secrets),
so a scheme rehearsed on a test portal can be promoted to production. Importing is validated exactly like
saving in the admin, in a transaction; a dry run does all of it and rolls back."""

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from integrations import versions
from integrations.models import Connection, FieldMapping, Scheme, SchemeVersion, ValueMap, ValueMapEntry

FORMAT = "dingtalk-kingdee-portal/scheme"
FORMAT_VERSION = 1


def export(scheme):
    state = versions.snapshot(scheme)
    kinds = dict(Connection.objects.filter(name__in=[name for name in (
        state["settings"][field] for field in versions.CONNECTIONS) if name]).values_list("name", "kind"))
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "exported_at": timezone.now().isoformat(),
        "exported_from": settings.PORTAL_BASE_URL,
        "connections": {field: {"name": state["settings"][field], "kind": kinds.get(state["settings"][field])}
                        for field in versions.CONNECTIONS if state["settings"][field]},
        **state,
    }


def dumps(scheme):
    return json.dumps(export(scheme), ensure_ascii=False, indent=2)


def filename(scheme):
    return f"scheme-{slugify(scheme.name, allow_unicode=True) or scheme.pk}.json"


def parse(text):
    """The file's data, checked for shape; ValidationError with a message a person can act on."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValidationError(gettext("The file is not valid JSON: %(error)s") % {"error": "nested too deeply"}) from None
    except ValueError as error:
        raise ValidationError(gettext("The file is not valid JSON: %(error)s") % {"error": error}) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValidationError(gettext("This is not a scheme exported from an integration portal."))
    if not isinstance(data.get("format_version"), int) or data["format_version"] > FORMAT_VERSION:
        raise ValidationError(gettext("The file was written by a newer portal (format %(version)s); this portal reads "
                                      "format %(ours)d.") % {"version": data.get("format_version"),
                                                             "ours": FORMAT_VERSION})
    shapes = {"settings": dict, "mappings": list, "value_maps": list}
    broken = [key for key, shape in shapes.items() if not isinstance(data.get(key), shape)]
    if broken or not data["settings"].get("name"):
        raise ValidationError(gettext("The file is incomplete: %(parts)s missing or malformed.") % {
            "parts": ", ".join(broken or ["settings.name"])})
    problems = list(_shape_problems(data))
    if problems:
        raise ValidationError(problems[:20])
    _check_connection_kinds(data)
    return data


# ---- shape: every value of the type its field takes, so that nothing below meets a surprise ------------

ENTRY_FIELDS = {"source": "source_value", "target": "target_value", "note": "note"}


def _shape_problems(data):
    """Messages naming each part of the file whose type is wrong (a list where text belongs, …)."""
    yield from _fields_problems(Scheme, data["settings"], "settings", required=("name",))
    connections = data.get("connections", {})
    if not isinstance(connections, dict) or not all(
            isinstance(spec, dict) and all(isinstance(spec.get(key), (str, type(None))) for key in ("name", "kind"))
            for spec in connections.values()):
        yield _malformed("connections")
    for number, row in enumerate(data["mappings"], 1):
        yield from _fields_problems(FieldMapping, row, f"mappings[{number}]", required=("target",))
    for number, spec in enumerate(data["value_maps"], 1):
        where = f"value_maps[{number}]"
        yield from _fields_problems(ValueMap, spec, where, required=("name",), extra={"entries": list})
        for position, entry in enumerate(spec.get("entries", []) if isinstance(spec, dict) else [], 1):
            renamed = {ENTRY_FIELDS.get(key, key): value for key, value in entry.items()} if isinstance(
                entry, dict) else entry
            yield from _fields_problems(ValueMapEntry, renamed, f"{where}.entries[{position}]",
                                        required=("source_value", "target_value"))


def _fields_problems(model, values, where, required=(), extra=None):
    if not isinstance(values, dict):
        yield _malformed(where)
        return
    for name in required:
        if not isinstance(values.get(name), str) or not values[name].strip():
            yield _malformed(f"{where}.{name}")
    for name, value in values.items():
        wanted = (extra or {}).get(name) or _wanted_type(model, name)
        if wanted and not _is_a(value, wanted):
            yield _malformed(f"{where}.{name}")


def _wanted_type(model, name):
    """The JSON type a field takes (None: a name the file may carry but the model does not have)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return (int, float, type(None)) if field.null else (int, float)
    if isinstance(field, models.JSONField):
        return dict
    if isinstance(field, (models.ForeignKey, models.DateTimeField)) or field.null:
        return (str, type(None))
    return str


def _is_a(value, wanted):
    if isinstance(value, bool) and wanted is not bool and bool not in (wanted if isinstance(wanted, tuple) else ()):
        return False  # JSON's true is no number
    return isinstance(value, wanted)


def _malformed(where):
    return gettext("The file is malformed at %(where)s: it does not hold the kind of value that belongs there.") % {
        "where": where}


def _check_connection_kinds(data):
    errors = []
    for spec in (data.get("connections") or {}).values():
        connection = Connection.objects.filter(name=spec.get("name")).first()
        wanted = spec.get("kind")
        if connection is not None and wanted and connection.kind != wanted:
            label = Connection.Kind(wanted).label if wanted in Connection.Kind.values else wanted
            errors.append(gettext("The connection “%(name)s” here is a %(here)s, but the scheme needs a %(wanted)s.")
                          % {"name": connection.name, "here": connection.get_kind_display(), "wanted": label})
    if errors:
        raise ValidationError(errors)


@dataclass
class Plan:
    """What an import does (or did): create or update which scheme, with which changes."""

    name: str
    existing: Scheme | None
    changes: list = field(default_factory=list)
    mappings: int = 0
    value_maps: int = 0
    entries: int = 0
    scheme: Scheme | None = None
    warnings: list = field(default_factory=list)


class _DryRun(Exception):
    pass


def load(data, *, user=None, dry_run=False):
    """Create the scheme, or update the one of the same name; returns the Plan. Raises ValidationError."""
    state = {key: data[key] for key in ("settings", "mappings", "value_maps")}
    existing = Scheme.objects.filter(name=state["settings"]["name"]).first()
    before = versions.snapshot(existing) if existing else None
    plan = Plan(name=state["settings"]["name"], existing=existing,
                changes=[versions.describe(change) for change in versions.diff(before, state)] if before else [],
                mappings=len(state["mappings"]), value_maps=len(state["value_maps"]),
                entries=sum(len(spec.get("entries", [])) for spec in state["value_maps"]))
    try:
        with transaction.atomic():
            with versions.acting(user=user, action=SchemeVersion.Action.IMPORTED):
                plan.scheme = versions.apply(existing or Scheme(), state)
            plan.warnings = [gettext(
                "The enabled scheme “%(name)s” already reads the same source into the same target form. Both would "
                "look at every record; the target is searched before each first write, so nothing is booked twice, "
                "but one of them is probably not wanted.") % {"name": other.name} for other in same_flow(plan.scheme)]
            if dry_run:
                raise _DryRun
    except _DryRun:
        plan.scheme = None
    except IntegrityError as error:
        raise ValidationError(gettext("The file repeats a mapping target or a value map entry: %(error)s")
                              % {"error": error}) from None
    return plan


def same_flow(scheme):
    """Other enabled schemes reading the same source (kind, connection, process code) into the same target form."""
    others = Scheme.objects.filter(
        enabled=True, source_kind=scheme.source_kind, source_connection_id=scheme.source_connection_id,
        target_kind=scheme.target_kind, target_connection_id=scheme.target_connection_id,
    ).exclude(pk=scheme.pk)
    source = (scheme.source_params or {}).get("process_code")
    form = (scheme.target_params or {}).get("form_id")
    return [other for other in others.order_by("name")
            if (other.source_params or {}).get("process_code") == source
            and (other.target_params or {}).get("form_id") == form]
