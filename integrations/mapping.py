"""A source record becomes a target payload: pure functions, standard library only.

The engine hands in the record (a DingTalk approval as the client normalises it: instance
fields at the top, form components by label under "form", detail tables as lists of row
dicts) and `Lookups` (value maps as dicts, the identity map as a callable), so the worker,
the admin preview and the tests all run this same code without a database.

Paths: a target path is a field key, dotted for sub-objects, with one `[]` for entry rows
(`FPAYBILLENTRY[].FCOSTID`) and a second for sub-entry rows inside each entry row, where the Kingdee form has
them (`FSaleOrderEntry[].FOrderEntryPlan[].FPlanQty`). A source path names an instance field (`originator_userid`),
else a form label (`报销事由`), else dotted parts into either; `报销明细[].报销金额(元)` reads a
column of a detail table, one entry row per table row; `报销明细[].项目费用明细[].金额` reads a table nested in
a detail row: one entry row per child row, the parent row's columns readable beside the child's — or, mapped
to a sub-entry target, one sub-entry row per child row inside the entry row of its parent.

Messages are English templates marked for translation; the caller translates them.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def gettext_noop(message):
    """Marks a message for makemessages; it is translated where it is shown."""
    return message


EMPTY_TEXTS = ("", "null")
PATH_PART = r"[^\[\].]+"
TARGET_PATH = re.compile(rf"^(?:{PATH_PART}\[\]\.){{0,2}}{PATH_PART}(?:\.{PATH_PART})*$")
SOURCE_PATH = re.compile(rf"^(?:{PATH_PART}\[\]\.){{0,2}}{PATH_PART}(?:\.{PATH_PART})*$")
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class MappingError(Exception):
    """A message template (marked with gettext_noop) and its parameters."""

    def __init__(self, message, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def render(self, translate=lambda text: text):
        return translate(self.message) % self.params if self.params else translate(self.message)


@dataclass(frozen=True)
class Row:
    target: str
    source: str = ""
    transform: str = "copy"
    params: dict = field(default_factory=dict)
    required: bool = False
    default: str = ""


@dataclass
class Lookups:
    value_maps: dict = field(default_factory=dict)
    identity: Callable = lambda userid: None
    timezone: str = "Asia/Shanghai"
    # Kingdee staff number → DingTalk userid (two-way flows writing back into DingTalk), "" when unknown.
    staff_identity: Callable = lambda staff_number: ""


@dataclass
class Cell:
    """One row of the mapping applied to one entry (or the header): what the preview shows."""

    target: str
    source: str
    source_value: object
    value: object = None
    error: MappingError | None = None

    def render_error(self, translate=lambda text: text):
        if self.error is None:
            return ""
        return translate(gettext_noop("Field %(target)s from %(source)s (value “%(value)s”): %(reason)s")) % {
            "target": self.target,
            "source": self.source or "—",
            "value": shorten(self.source_value),
            "reason": self.error.render(translate),
        }


@dataclass
class Result:
    payload: dict
    cells: list

    @property
    def errors(self):
        return [cell for cell in self.cells if cell.error is not None]

    @property
    def ok(self):
        return not self.errors


@dataclass(frozen=True)
class Param:
    """One parameter of a transform, declared so the admin can draw a form field for it.

    The attributes match the adapters' `Param` (label, type, required, default, help), so one renderer
    serves both; `choices` ((value, label) pairs) makes a select, `lookup="value_map"` a value-map picker.
    """

    label: str
    type: type = str
    required: bool = False
    default: object = None
    help: str = ""
    choices: tuple = ()
    lookup: str = ""


WRAP = Param(gettext_noop("wrap in"), help=gettext_noop("Send {key: value} instead of the value, e.g. FNumber."))


@dataclass(frozen=True)
class Transform:
    name: str
    label: str
    apply: Callable  # (value, params, context) -> value
    params: dict = field(default_factory=dict)  # name → Param, besides the common "wrap"
    needs_source: bool = True
    check: Callable = lambda params: []

    @property
    def all_params(self):
        return {**self.params, "wrap": WRAP}


TRANSFORMS: dict[str, Transform] = {}


def register(name, label, *, params=None, needs_source=True, check=None):
    def decorator(func):
        TRANSFORMS[name] = Transform(name, label, func, dict(params or {}), needs_source, check or (lambda p: []))
        return func

    return decorator


def transform_choices():
    return [(transform.name, transform.label) for transform in TRANSFORMS.values()]


@dataclass
class Context:
    record: dict
    row: dict | None
    lookups: Lookups


def is_empty(value):
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in EMPTY_TEXTS
    return isinstance(value, (list, dict)) and not value


def shorten(value, limit=80):
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- transforms -------------------------------------------------------------------------------


@register("copy", gettext_noop("Copy"))
def copy_value(value, params, context):
    return value.strip() if isinstance(value, str) else value


def _check_constant(params):
    return [] if "value" in params else [MappingError(gettext_noop("Set the parameter “value”."))]


@register("constant", gettext_noop("Constant"), params={"value": Param(gettext_noop("value"), required=True)},
          needs_source=False, check=_check_constant)
def constant(value, params, context):
    return params.get("value")


def _check_value_map(params):
    if not isinstance(params.get("map"), str) or not params["map"].strip():
        return [MappingError(gettext_noop("Set the parameter “map” to the name of a value map."))]
    return []


@register("value_map", gettext_noop("Value map"), check=_check_value_map, params={
    "map": Param(gettext_noop("value map"), required=True, lookup="value_map"),
    "default": Param(gettext_noop("when not in the map"), help=gettext_noop("Empty: the record fails.")),
})
def value_map(value, params, context):
    name = params["map"]
    entries = context.lookups.value_maps.get(name)
    if entries is None:
        raise MappingError(gettext_noop("The value map “%(map)s” does not exist."), map=name)
    key = str(value).strip()
    if key in entries:
        return entries[key]
    if "default" in params:
        return params["default"]
    raise MappingError(gettext_noop("The value map “%(map)s” has no entry for “%(value)s”."), map=name, value=key)


IDENTITY_FIELDS = ("staff_number", "username")


def _check_identity(params):
    if params.get("field", "staff_number") not in IDENTITY_FIELDS:
        return [MappingError(gettext_noop("“field” must be staff_number or username."))]
    return []


@register("identity", gettext_noop("Identity map (DingTalk user → Kingdee)"), check=_check_identity, params={
    "field": Param(gettext_noop("Kingdee value"), default="staff_number", choices=(
        ("staff_number", gettext_noop("staff number")), ("username", gettext_noop("user name")))),
})
def identity(value, params, context):
    userid = str(value).strip()
    found = context.lookups.identity(userid)
    if not found:
        raise MappingError(
            gettext_noop("DingTalk user %(userid)s has no active entry in the identity map."), userid=userid
        )
    wanted = params.get("field", "staff_number")
    if not found.get(wanted):
        raise MappingError(
            gettext_noop("The identity map entry of DingTalk user %(userid)s has no Kingdee %(field)s."),
            userid=userid,
            field=wanted,
        )
    return found[wanted]


@register("identity_reverse", gettext_noop("Identity map (Kingdee staff number → DingTalk user)"))
def identity_reverse(value, params, context):
    staff_number = str(value).strip()
    userid = context.lookups.staff_identity(staff_number)
    if not userid:
        raise MappingError(gettext_noop("Kingdee staff number %(number)s has no active entry in the identity map."),
                           number=staff_number)
    return userid


DATE_FORMATS = {"yyyy-MM-dd": "%Y-%m-%d", "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S"}


def _check_date(params):
    problems = []
    if params.get("format", "yyyy-MM-dd") not in DATE_FORMATS:
        problems.append(MappingError(gettext_noop("“format” must be yyyy-MM-dd or yyyy-MM-dd HH:mm:ss.")))
    if "timezone" in params:
        try:
            ZoneInfo(str(params["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(MappingError(gettext_noop("Unknown time zone “%(zone)s”."), zone=params["timezone"]))
    return problems


@register("date", gettext_noop("Date"), check=_check_date, params={
    "format": Param(gettext_noop("format"), default="yyyy-MM-dd", choices=tuple((f, f) for f in DATE_FORMATS)),
    "timezone": Param(gettext_noop("time zone"), help=gettext_noop("Empty: the portal's time zone.")),
})
def to_date(value, params, context):
    zone = ZoneInfo(params.get("timezone") or context.lookups.timezone)
    moment = parse_moment(value, zone)
    return moment.strftime(DATE_FORMATS[params.get("format", "yyyy-MM-dd")])


def parse_moment(value, zone):
    """Epoch milliseconds (number or digits), ISO 8601 text, or local 'yyyy-MM-dd[ HH:mm[:ss]]' text."""
    text = str(value).strip()
    if isinstance(value, (int, float)) or (text.isdigit() and len(text) >= 10):
        millis = int(value) if isinstance(value, (int, float)) else int(text)
        if len(str(abs(millis))) <= 10:
            millis *= 1000
        return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).astimezone(zone)
    try:
        moment = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise MappingError(gettext_noop("“%(value)s” is not a date."), value=shorten(value)) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


ROUNDINGS = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


def _check_number(params):
    problems = []
    scale = params.get("scale", 2)
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= 10:
        problems.append(MappingError(gettext_noop("“scale” must be a whole number from 0 to 10.")))
    if params.get("rounding", "half_up") not in ROUNDINGS:
        problems.append(MappingError(gettext_noop("“rounding” must be half_up, half_even or down.")))
    if "factor" in params:
        try:
            factor = Decimal(str(params["factor"]).strip())
        except InvalidOperation:
            factor = None
        if isinstance(params["factor"], bool) or factor is None or not factor.is_finite() or factor == 0:
            problems.append(MappingError(gettext_noop("“factor” must be a number other than zero, e.g. 0.01 for 分 → 元.")))
    return problems


@register("number", gettext_noop("Number"), check=_check_number, params={
    "scale": Param(gettext_noop("decimals"), int, default=2),
    "rounding": Param(gettext_noop("rounding"), default="half_up", choices=(
        ("half_up", gettext_noop("half up")), ("half_even", gettext_noop("half to even")),
        ("down", gettext_noop("down")))),
    "positive": Param(gettext_noop("must be above zero"), bool, default=False),
    "as_text": Param(gettext_noop("send as text"), bool, default=False),
    "factor": Param(gettext_noop("unit factor"), help=gettext_noop("Multiply first, exactly: 0.01 turns 分 into 元.")),
})
def to_number(value, params, context):
    number = parse_decimal(value)
    if params.get("factor") not in (None, ""):
        number *= Decimal(str(params["factor"]).strip())  # exact: Decimal × Decimal, rounded once below
    if params.get("positive") and number <= 0:
        raise MappingError(gettext_noop("%(value)s is not greater than zero."), value=number)
    scale = params.get("scale", 2)
    number = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUNDINGS[params.get("rounding", "half_up")])
    if params.get("as_text"):
        return str(number)
    return int(number) if scale == 0 else float(number)


def parse_decimal(value):
    if isinstance(value, bool):
        raise MappingError(gettext_noop("“%(value)s” is not a number."), value=value)
    text = str(value).strip()
    for noise in (",", " ", "¥", "￥", "元", "\u00a0"):
        text = text.replace(noise, "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise MappingError(gettext_noop("“%(value)s” is not a number."), value=shorten(value)) from None
    if not number.is_finite():
        raise MappingError(gettext_noop("“%(value)s” is not a number."), value=shorten(value))
    return number


def _file(item):
    if not isinstance(item, dict):
        raise MappingError(gettext_noop("“%(value)s” is not an attached file."), value=shorten(item))

    def pick(*names):
        return next((str(item[name]) for name in names if item.get(name) not in (None, "")), "")

    file = {"file_id": pick("file_id", "fileId"), "file_name": pick("file_name", "fileName", "name"),
            "file_size": pick("file_size", "fileSize", "size"), "file_type": pick("file_type", "fileType")}
    if not file["file_id"]:
        raise MappingError(gettext_noop("The attached file “%(name)s” has no file id."), name=file["file_name"])
    return file


@register("attachments", gettext_noop("Attached files (uploaded to Kingdee and bound to the bill)"))
def attachments(value, params, context):
    """DingTalk DDAttachment values → [{file_id, file_name, file_size, file_type}] for the target's ATTACHMENTS."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise MappingError(gettext_noop("“%(value)s” is not a list of files."), value=shorten(value)) from None
    items = value if isinstance(value, list) else [value]
    return [_file(item) for item in items]


@register("basedata", gettext_noop("Base data number"), params={
    "key": Param(gettext_noop("number key"), default="FNumber"),
})
def basedata(value, params, context):
    return {params.get("key") or "FNumber": str(value).strip()}


def _check_template(params):
    if not isinstance(params.get("template"), str) or not params["template"]:
        return [MappingError(gettext_noop("Set the parameter “template”, e.g. “{title} {business_id}”."))]
    return []


@register("template", gettext_noop("Text template"), needs_source=False, check=_check_template, params={
    "template": Param(gettext_noop("template"), required=True, help=gettext_noop("e.g. {title} {business_id}")),
})
def fill_template(value, params, context):
    def substitute(match):
        found = resolve(context.record, match.group(1).strip(), context.row)
        return "" if is_empty(found) else str(found).strip()

    text = params["template"].replace("{{", "\0").replace("}}", "\1")
    return PLACEHOLDER.sub(substitute, text).replace("\0", "{").replace("\1", "}").strip()


def _check_regex(params):
    problems = []
    try:
        compiled = re.compile(str(params.get("pattern", "")))
    except re.error as exc:
        return [MappingError(gettext_noop("“pattern” is not a valid regular expression: %(error)s"), error=exc)]
    if not params.get("pattern"):
        problems.append(MappingError(gettext_noop("Set the parameter “pattern”.")))
    if params.get("mode", "validate") not in ("validate", "extract"):
        problems.append(MappingError(gettext_noop("“mode” must be validate or extract.")))
    group = params.get("group", 0)
    if not isinstance(group, int) or isinstance(group, bool) or not 0 <= group <= compiled.groups:
        problems.append(MappingError(gettext_noop("“group” must be a group number of the pattern.")))
    return problems


@register("regex", gettext_noop("Regular expression"), check=_check_regex, params={
    "pattern": Param(gettext_noop("pattern"), required=True),
    "mode": Param(gettext_noop("mode"), default="validate", choices=(
        ("validate", gettext_noop("validate")), ("extract", gettext_noop("extract")))),
    "group": Param(gettext_noop("group"), int, default=0),
})
def regex(value, params, context):
    text = str(value).strip()
    if params.get("mode", "validate") == "validate":
        if re.fullmatch(params["pattern"], text) is None:
            raise MappingError(gettext_noop("“%(value)s” does not match %(pattern)s."), value=text,
                               pattern=params["pattern"])
        return text
    match = re.search(params["pattern"], text)
    if match is None:
        raise MappingError(gettext_noop("Nothing in “%(value)s” matches %(pattern)s."), value=text,
                           pattern=params["pattern"])
    return match.group(params.get("group", 0))


# ---- paths ------------------------------------------------------------------------------------


def split_list_path(path):
    """'A[].b' → ('A', 'b'); 'A[].B[].c' → ('A[].B', 'c'); 'b' → (None, 'b')."""
    head, marker, rest = path.rpartition("[].")
    return (head, rest) if marker else (None, path)


def resolve(record, path, row=None):
    """The value at a source path: a detail row's column, an instance field, a form label, then dotted parts."""
    if row is not None and path in row:
        return row[path]
    if path in record:
        return record[path]
    form = record.get("form") or {}
    if path in form:
        return form[path]
    head, dot, rest = path.partition(".")
    if not dot:
        return None
    value = resolve(record, head, row)
    for part in rest.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def detail_rows(record, list_path):
    if "[]." in list_path:  # a table inside each row of another: one row per child, beside its parent's columns
        parent, _marker, child = list_path.partition("[].")
        rows = []
        for row in detail_rows(record, parent):
            children = row.get(child)
            if isinstance(children, str) and children.strip().startswith("["):
                try:
                    children = json.loads(children)
                except ValueError:
                    children = None
            if not is_empty(children) and not isinstance(children, list):
                raise MappingError(gettext_noop("%(path)s is not a detail table."), path=list_path)
            columns = {key: value for key, value in row.items() if key != child}
            kids = [kid for kid in children or [] if isinstance(kid, dict)]
            rows.extend([{**columns, **kid} for kid in kids] or [columns])
        return rows
    value = resolve(record, list_path)
    if is_empty(value):
        return []
    if not isinstance(value, list):
        raise MappingError(gettext_noop("%(path)s is not a detail table."), path=list_path)
    # An empty table has been seen to come back as its schema: rows without cells.
    return [row for row in value if isinstance(row, dict)]


def set_path(payload, parts, value):
    """Set a value at dotted parts; a part another row already set the other way is a MappingError."""
    node = payload
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise MappingError(gettext_noop("%(field)s already holds a value, so nothing can be set inside it."),
                               field=part)
    if isinstance(node.get(parts[-1]), (dict, list)):
        raise MappingError(gettext_noop("%(field)s is already set by the rows inside it."), field=parts[-1])
    node[parts[-1]] = value


# ---- checking rows (admin forms) --------------------------------------------------------------


def check_row(row):
    """Problems with one row's own settings, as MappingErrors keyed by form field name."""
    problems = []
    transform = TRANSFORMS.get(row.transform)
    if transform is None:
        return [("transform", MappingError(gettext_noop("Unknown transform “%(name)s”."), name=row.transform))]
    if not TARGET_PATH.match(row.target or ""):
        problems.append(("target", MappingError(
            gettext_noop("Write a field key, e.g. FDATE or FPAYBILLENTRY[].FCOSTID."))))
    if row.source and not SOURCE_PATH.match(row.source):
        problems.append(("source", MappingError(gettext_noop("Write a source path, e.g. 报销事由 or 报销明细[].报销金额(元)."))))
    if transform.needs_source and not row.source and row.default == "":
        problems.append(("source", MappingError(gettext_noop("This transform needs a source path or a default."))))
    if row.source and "[]" in row.source and "[]" not in row.target:
        problems.append(("target", MappingError(gettext_noop("A detail-table source needs an entry target (…[]…)."))))
    if not isinstance(row.params, dict):
        return [*problems, ("params", MappingError(gettext_noop("Parameters must be a JSON object.")))]
    allowed = set(transform.all_params)
    for name in sorted(set(row.params) - allowed):
        problems.append(("params", MappingError(gettext_noop("Unknown parameter “%(name)s” for this transform."),
                                                name=name)))
    problems.extend(("params", problem) for problem in transform.check(row.params))
    return problems


def target_parts(target):
    """'E[].A.b' → ('E', '[]', 'A', 'B'): upper case, as Kingdee matches keys."""
    entity, column = split_list_path(target.upper())
    return (entity, "[]", *column.split(".")) if entity else tuple(column.split("."))


def check_rows(rows):
    """Problems across rows: one source table per entry, no target written twice or inside another."""
    problems = []
    tables, seen = {}, {}
    for row in rows:
        parts = target_parts(row.target)
        for other, other_parts in seen.items():
            shorter = min(len(parts), len(other_parts))
            if row.target == other:
                problems.append(MappingError(gettext_noop("%(target)s is mapped twice."), target=row.target))
            elif parts == other_parts:
                problems.append(MappingError(gettext_noop("%(first)s and %(second)s are the same Kingdee field."),
                                             first=other, second=row.target))
            elif parts[:shorter] == other_parts[:shorter]:
                problems.append(MappingError(
                    gettext_noop("%(first)s and %(second)s collide: one would be written inside the other."),
                    first=other, second=row.target))
        seen.setdefault(row.target, parts)
        entity, _column = split_list_path(row.target)
        source_list, _item = split_list_path(row.source or "")
        if entity and source_list:
            known = tables.setdefault(entity, source_list)
            nested = known.startswith(source_list + "[].") or source_list.startswith(known + "[].")
            if known != source_list and not nested:
                problems.append(MappingError(
                    gettext_noop("%(entity)s rows come from two tables: %(first)s and %(second)s."),
                    entity=entity, first=tables[entity], second=source_list))
    return problems


# ---- building a payload -----------------------------------------------------------------------


def build_payload(rows, record, lookups=None):
    """Apply every row; a row's failure is recorded on its cell and never stops the others."""
    lookups = lookups or Lookups()
    payload, cells = {}, []
    groups = {}
    for row in rows:
        entity = row.target.partition("[].")[0] if "[]." in row.target else None  # sub-entry rows ride with theirs
        groups.setdefault(entity, []).append(row)
    for entity, group in groups.items():
        if entity is None:
            for row in group:
                parts = row.target.split(".")
                cells.append(apply_row(row, row.target, row.source, record, None, lookups, payload, parts))
        else:
            cells.extend(build_entries(entity, group, record, lookups, payload))
    return Result(payload, cells)


def build_entries(entity, group, record, lookups, payload):
    own = [row for row in group if row.target.count("[].") == 1]
    subs = {}  # sub-entity key → its rows
    for row in group:
        if row.target.count("[].") == 2:
            subs.setdefault(split_list_path(row.target)[0].partition("[].")[2], []).append(row)
    tables = [split_list_path(row.source)[0] for row in own if "[]" in (row.source or "")]
    tables += [_parent_table(row.source) for rows in subs.values() for row in rows if "[]" in (row.source or "")]
    # The deepest table: a parent's columns ride along.
    table = max(filter(None, tables), key=lambda name: name.count("[]."), default=None)
    try:
        rows = detail_rows(record, table) if table else [None]
    except MappingError as error:
        return [Cell(entity, table, resolve(record, table), error=error)]
    if not rows:
        error = MappingError(gettext_noop("The detail table %(table)s has no rows."), table=table)
        return [Cell(entity, table, "", error=error)]
    entries = payload.setdefault(entity, [{} for _row in rows])
    if not isinstance(entries, list):
        error = MappingError(gettext_noop("%(field)s already holds a value, so nothing can be set inside it."),
                             field=entity)
        return [Cell(f"{entity}[].{split_list_path(row.target)[1]}", row.source, None, error=error) for row in group]
    cells = []
    for index, detail in enumerate(rows, start=1):
        for row in own:
            _entity, column = split_list_path(row.target)
            source_list, item = split_list_path(row.source or "")
            source = f"{source_list}[{index}].{item}" if source_list else row.source
            target = f"{entity}[{index}].{column}"
            cells.append(apply_row(row, target, source, record, detail, lookups, entries[index - 1], column.split(".")))
        for sub, sub_group in subs.items():
            cells.extend(build_sub_entries(f"{entity}[{index}].{sub}", sub_group, record, detail, table, index,
                                           lookups, entries[index - 1], sub))
    return cells


def _parent_table(source):
    """'A[].B[].c' → 'A' (the entry rows' table of a sub-entry source); 'A[].c' → 'A'; 'c' → None."""
    table = split_list_path(source)[0]
    return table.rpartition("[].")[0] or table if table else None


def build_sub_entries(where, group, record, detail, table, index, lookups, entry, sub):
    """The sub-entry rows of one entry row: one per row of the child table inside its detail row (the parent's
    columns readable beside the child's), or a single one when the rows read no child table."""
    child_tables = {split_list_path(row.source)[0] for row in group if (row.source or "").count("[].") == 2}
    child = next(iter(sorted(child_tables)), None)
    rows = [detail]
    if child:
        name = child.rpartition("[].")[2]
        kids = (detail or {}).get(name)
        if isinstance(kids, str) and kids.strip().startswith("["):
            try:
                kids = json.loads(kids)
            except ValueError:
                kids = None
        if not is_empty(kids) and not isinstance(kids, list):
            return [Cell(where, child, kids, error=MappingError(gettext_noop("%(path)s is not a detail table."),
                                                                path=child))]
        columns = {key: value for key, value in (detail or {}).items() if key != name}
        rows = [{**columns, **kid} for kid in kids or [] if isinstance(kid, dict)]
        if not rows:
            return []
    sub_rows = entry.setdefault(sub, [{} for _row in rows])
    cells = []
    for number, sub_detail in enumerate(rows, start=1):
        for row in group:
            column = split_list_path(row.target)[1]
            source_list, item = split_list_path(row.source or "")
            if source_list == child and child:
                parent, _m, name = child.rpartition("[].")
                source = f"{parent}[{index}].{name}[{number}].{item}"
            else:
                source = f"{source_list}[{index}].{item}" if source_list else row.source
            cells.append(apply_row(row, f"{where}[{number}].{column}", source, record, sub_detail, lookups,
                                   sub_rows[number - 1], column.split(".")))
    return cells


def apply_row(row, target, source, record, detail, lookups, node, parts):
    transform = TRANSFORMS[row.transform]
    path = split_list_path(row.source)[1] if row.source else ""
    raw = resolve(record, path, detail) if row.source else None
    cell = Cell(target, source, raw)
    value = row.default if is_empty(raw) and row.default != "" else raw
    try:
        if transform.needs_source and is_empty(value):
            value = None
        else:
            value = transform.apply(value, row.params, Context(record, detail, lookups))
        if is_empty(value):
            if row.required:
                raise MappingError(gettext_noop("A value is required."))
            value = None
        elif row.params.get("wrap"):
            value = {row.params["wrap"]: value}
    except MappingError as error:
        cell.error = error
        return cell
    except Exception as error:  # a transform must not take the whole record down with a traceback
        cell.error = MappingError(gettext_noop("Unexpected error: %(error)s"), error=repr(error))
        return cell
    if value is not None:
        try:
            set_path(node, parts, value)
        except MappingError as error:
            cell.error = error
            return cell
    cell.value = value
    return cell
