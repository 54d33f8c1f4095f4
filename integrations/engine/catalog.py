"""Field pickers: the approval template's components and the Kingdee form's fields, read from the remotes.

Admin pages call this inside a web request, so every read is bounded (`client_for(quick=True)`: a few
seconds, one attempt) and cached; a failed read is remembered briefly and comes back as a note, and the
pickers fall back to free text. A connection of either kind can be read on either side: a DingTalk
connection with a `process_code` setting gives the template's components, a Kingdee connection with a
`form_id` setting the form's fields.
"""

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.core.cache import cache
from django.db import connection as database
from django.utils.translation import gettext, gettext_lazy as _

from integrations import mapping
from integrations.clients import client_for
from integrations.clients.errors import RemoteError

logger = logging.getLogger("integrations.engine")

FRESH_SECONDS = 600
FAILED_SECONDS = 60
# What every approval carries besides its form (`integrations.clients.dingtalk.normalize_instance`).
APPROVAL_FIELDS = [
    ("title", _("approval title")), ("business_id", _("approval number")),
    ("originator_userid", _("originator (DingTalk user id)")), ("originator_dept_id", _("originator's department id")),
    ("create_time", _("started at")), ("finish_time", _("finished at")),
    ("process_instance_id", _("approval instance id")),
]
NUMBER_KINDS = ("MoneyField", "NumberField", "CalculateField")
DATE_KINDS = ("DDDateField", "DateField")
SIMILAR = 0.5  # captions at least this alike are suggested as a row
# Kingdee fills these itself (numbers, ids, states): never suggested.
SYSTEM_KEYS = {"FBILLNO", "FID", "FENTRYID", "FSEQ", "FDOCUMENTSTATUS", "FCANCELSTATUS", "FAPPROVEDATE"}


@dataclass
class Catalog:
    """[(path, caption, component kind)] of one side; `note` says why it is empty or partial."""

    fields: list = field(default_factory=list)
    note: str = ""
    described: bool = False  # the remote listed the form's fields: unknown target keys can be refused

    def caption(self, path):
        return next((caption for known, caption, _kind in self.fields if known == path), "")

    def has_target(self, target):
        """Whether a target path names a field of the form (Kingdee matches keys case-insensitively)."""
        entity, column = mapping.split_list_path(target.upper())
        wanted = f"{entity}[].{column.split('.')[0]}" if entity else column.split(".")[0]
        return wanted in {path.upper() for path, _caption, _kind in self.fields}


def read(connection, params):
    """The catalog of one side of a scheme; never raises for a remote failure."""
    params = params if isinstance(params, dict) else {}
    if connection is None:
        return Catalog()
    if connection.kind == "dingtalk" and params.get("process_code"):
        code = str(params["process_code"])
        found = _cached(connection, "schema", code, lambda client: [list(item) for item in client.form_fields(code)])
        extra = [(path, str(caption), "") for path, caption in APPROVAL_FIELDS]
        return Catalog(extra + [tuple(item) for item in found.fields], found.note, found.described)
    if connection.kind == "dingtalk" and params.get("form_uuid") and params.get("user_id"):  # a Yida form
        uuid, user = str(params["form_uuid"]), str(params["user_id"])
        return _cached(connection, "yida", uuid, lambda client: yida_fields(client.yida_definitions(uuid, user)))
    if connection.kind == "kingdee" and params.get("form_id"):
        form_id = str(params["form_id"])
        return _cached(connection, "form", form_id,
                       lambda client: [[path, caption, ""] for path, caption in client.form_fields(form_id)])
    return Catalog()


def yida_fields(components):
    """[[path, caption, kind]] of a Yida form's components: by label, sub-table columns as `表[].列`."""
    labels = {item.get("fieldId"): item.get("label") or item.get("fieldId") for item in components}
    return [[f"{labels[item['parentId']]}[].{item.get('label') or item['fieldId']}" if item.get("parentId") in labels
             else item.get("label") or item["fieldId"], item.get("label") or "", item.get("componentName") or ""]
            for item in components if item.get("fieldId") and item.get("componentName") != "TableField"]


def _cached(connection, what, name, fetch):
    account = getattr(connection, "data_centre_id", "")
    stamp = connection.updated_at.timestamp() if connection.updated_at else 0
    key = f"integrations:catalog:{connection.pk}:{stamp}:{account}:{what}:{name}"
    stored = cache.get(key)
    if stored is None:
        stored = _fetch(connection, name, fetch)
        cache.set(key, stored, FRESH_SECONDS if not stored["note"] else FAILED_SECONDS)
    fields = [tuple(item) for item in stored["fields"]]
    return Catalog(fields, stored["note"], bool(fields))


def _fetch(connection, name, fetch):
    try:
        return {"fields": fetch(client_for(connection, quick=True)), "note": ""}
    except RemoteError as error:
        reason = error.message
    except Exception as error:  # noqa: BLE001 (a picker must never cost the page)
        logger.exception("reading the fields of %s from connection %s failed", name, connection.pk)
        reason = str(error) or error.__class__.__name__
    note = gettext("The field list of %(name)s could not be read from “%(connection)s” (%(reason)s): type field "
                   "keys by hand.") % {"name": name, "connection": connection.name, "reason": reason}
    return {"fields": [], "note": note}


# ---- suggestions (the new-scheme wizard) -----------------------------------------------------


def normalise(caption):
    """Captions compared without units, brackets and spaces: 报销金额(元) ~ 报销金额."""
    text = re.sub(r"[（(][^）)]*[）)]", "", str(caption))
    return re.sub(r"\s+", "", text)


def likeness(first, second):
    """0…1: the same caption, one inside the other (备注 in 备注说明), else shared characters in order."""
    if not first or not second:
        return 0.0
    if first == second:
        return 1.0
    if len(min(first, second, key=len)) >= 2 and (first in second or second in first):
        return 0.8
    return SequenceMatcher(None, first, second).ratio()


def suggest(source, target):
    """Mapping rows whose captions match: header fields to header fields, detail-table columns to the
    entries of the one entity that matches most of them. [(target path, source path, transform)]."""
    header = [item for item in source.fields if "[]" not in item[0]]
    columns = [item for item in source.fields if "[]" in item[0]]
    writable = [item for item in target.fields if mapping.split_list_path(item[0])[1].upper() not in SYSTEM_KEYS]
    rows = _matches(header, [item for item in writable if "[]" not in item[0]])
    entities = {mapping.split_list_path(path)[0] for path, _caption, _kind in writable if "[]" in path}
    tables = [_matches(columns, [item for item in writable if item[0].startswith(f"{entity}[].")])
              for entity in sorted(entities)]
    return rows + max(tables, key=len, default=[])


def _matches(sources, targets):
    """Best pairs first, each field used once, pairs below SIMILAR left out."""
    pairs = sorted(((likeness(normalise(s_caption), normalise(t_caption)), index, s_path, t_path, kind)
                    for index, (s_path, s_caption, kind) in enumerate(sources) for t_path, t_caption, _k in targets),
                   key=lambda pair: (-pair[0], pair[1]))
    rows, used = [], set()
    for score, _index, s_path, t_path, kind in pairs:
        if score < SIMILAR or s_path in used or t_path in used:
            continue
        used.update((s_path, t_path))
        transform = "number" if kind in NUMBER_KINDS else "date" if kind in DATE_KINDS else "copy"
        rows.append((t_path, s_path, transform))
    return rows


def of_scheme(scheme):
    """(source catalog, target catalog) of a scheme as it stands, saved or not; both sides read at once, so a
    page waits for the slower remote only."""
    from integrations import adapters

    sides = []
    for side, registry in (("source", adapters.SOURCES), ("target", adapters.TARGETS)):
        cls = registry.get(getattr(scheme, f"{side}_kind"))
        params = getattr(scheme, f"{side}_params")
        params = {**(cls.defaults() if cls else {}), **(params if isinstance(params, dict) else {})}
        connection = getattr(scheme, f"{side}_connection") if getattr(scheme, f"{side}_connection_id") else None
        sides.append((connection, params))
    if database.in_atomic_block:
        # The admin's change view runs in a transaction: another thread's cache write (tokens, this catalog) would
        # wait for its lock on SQLite. Read here, one side after the other.
        return tuple(read(*side) for side in sides)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return tuple(pool.map(lambda side: read(*side), sides))
