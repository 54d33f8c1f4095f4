"""Scheme templates (市场方案): ready schemes kept as JSON files beside this module.

A template holds everything but the connections: source and target kinds and settings,
the mapping rows and the value maps with their entries. `create_scheme` turns one into a
Scheme; the admin's "从模板新建" and the `load_template` command both use it.
"""

import json
from pathlib import Path

from django.db import transaction

from integrations.models import FieldMapping, Scheme, ValueMap, ValueMapEntry

FOLDER = Path(__file__).resolve().parent
DEFAULT = "dingtalk-expense-to-kingdee-paybill"


def available():
    """{slug: template} of every JSON file in this folder."""
    templates = {}
    for path in sorted(FOLDER.glob("*.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        templates[template["slug"]] = template
    return templates


def get(slug):
    try:
        return available()[slug]
    except KeyError:
        raise LookupError(f"no scheme template {slug!r}; available: {', '.join(available())}") from None


@transaction.atomic
def create_scheme(slug, *, source_connection, target_connection, name=None, process_code=None, **overrides):
    """A new Scheme from a template, validated row by row (raises ValidationError)."""
    template = get(slug)
    source_params = dict(template["source"]["params"])
    if process_code:
        source_params["process_code"] = process_code
    schedule = template.get("schedule", {})
    scheme = Scheme(
        name=name or template["name"], description=template.get("description", ""), template=slug,
        source_connection=source_connection, source_kind=template["source"]["kind"], source_params=source_params,
        target_connection=target_connection, target_kind=template["target"]["kind"],
        target_params=dict(template["target"]["params"]), dedupe_field=template.get("dedupe_field", ""),
        batch_size=template.get("batch_size", 50), schedule_kind=schedule.get("kind", Scheme.ScheduleKind.MANUAL),
        interval_minutes=schedule.get("interval_minutes", 30), cron=schedule.get("cron", ""),
        writeback=template.get("writeback", False),
    )
    for field, value in overrides.items():
        setattr(scheme, field, value)
    scheme.full_clean()
    scheme.save()
    for spec in template.get("value_maps", []):
        value_map = ValueMap.objects.create(scheme=scheme, name=spec["name"], description=spec.get("description", ""))
        ValueMapEntry.objects.bulk_create(
            ValueMapEntry(value_map=value_map, source_value=entry["source"], target_value=entry["target"],
                          note=entry.get("note", ""))
            for entry in spec.get("entries", [])
        )
    for position, spec in enumerate(template["mappings"], start=1):
        row = FieldMapping(scheme=scheme, position=position * 10, **spec)
        row.full_clean()
        row.save()
    return scheme
