"""ExecuteBillQuery, BillQuery and View over stored form records (reference §5.4–5.6)."""

import json
from decimal import Decimal

from django.db import connection
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from sandbox.kingdee import filterstring, metadata, search
from sandbox.kingdee.metadata import DYNAMIC_TYPE
from sandbox.kingdee.models import FormRecord, KingdeeUser
from sandbox.kingdee.validation import Lookups, reference_number
from sandbox.kingdee.wire import BadRequest, get

MAX_LIMIT = 10000
DEFAULT_LIMIT = 2000


class UnknownField(BadRequest):
    def __init__(self, key):
        super().__init__(f"元数据中标识为{key}的字段不存在", msg_code=9)


class Resolver:
    """Values of field keys (`Key`, `Key.FNumber`, `Key.FName`, `Entity_FEntryID`) for one form."""

    def __init__(self, form):
        self.form = form
        self.lookups = Lookups()

    def value(self, record, entry, entity, key):
        base, _dot, sub = key.partition(".")
        upper, form = base.upper(), self.form
        if entity is not None and upper == f"{entity.key.upper()}_FENTRYID":
            return get(entry, "FEntryID") if entry else 0
        standard = self._standard(record, upper)
        if standard is not _MISSING and not sub:
            return standard
        in_entry = entity is not None and entry is not None and (upper in entity.fields or _has(entry, base))
        part = entry if in_entry else record.model
        references = entity.references if in_entry else form.references
        raw = get(part, base)
        if raw is None and not in_entry:
            raw = _sub_head(record.model, base)
        if upper in references or isinstance(raw, dict):
            lookup = references.get(upper) or (self._dynamic(record.model, upper) if upper in references else "")
            return self._reference(lookup, raw, sub)
        if isinstance(raw, list) and raw and isinstance(raw[0], dict) and "Key" in raw[0]:
            return next((get(item, "Value") for item in raw if str(get(item, "Key")) == "2052"), "")
        if raw is None:
            return 0 if upper in form.amounts else ""
        return raw

    def prefetch(self, rows, entity, keys):
        """Reads every record the rows' reference keys name, one query per form, before their values are."""
        wanted, lookups = set(), self.lookups
        self.lookups = _Recorder(wanted)
        try:
            for record, entry in rows:
                for key in keys:
                    self.value(record, entry, entity, key)
        finally:
            self.lookups = lookups
        lookups.preload(wanted)

    def _standard(self, record, upper):
        form = self.form
        if upper in (form.pk.upper(), "FID"):
            return record.fid
        if upper in (form.number_key.upper(), "FBILLNO", "FNUMBER"):
            return record.number
        if upper == "FNAME":
            return record.name
        if upper == "FDOCUMENTSTATUS":
            return record.document_status
        if upper == "FFORBIDSTATUS":
            return "B" if record.forbidden else "A"
        if upper in ("FCREATEDATE", "FMODIFYDATE"):
            moment = record.created_at if upper == "FCREATEDATE" else record.modified_at
            # Kingdee answers in the data centre's local time, as it stores it.
            return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S") if moment else ""
        return _MISSING

    @staticmethod
    def _dynamic(model, upper):
        return str(get(model, DYNAMIC_TYPE.get(upper, "")) or "")

    def _reference(self, lookup, raw, sub):
        number = reference_number(raw)
        if number is None:
            return "" if sub else 0
        wanted = sub.upper()
        if wanted in ("FNUMBER", "FSTAFFNUMBER"):
            return number  # stored on the row: no need to read the record it names
        target = self.lookups.find(lookup, number) if lookup else None
        if not sub:
            return target.fid if target else 0
        if wanted == "FNAME":
            return target.name if target else ""
        return get(target.model, sub, "") if target else ""


_MISSING = object()


class _Recorder:
    """Stands in for Lookups while a prefetch notes which records the values need."""

    def __init__(self, wanted):
        self.wanted = wanted

    def find(self, form_id, number):
        self.wanted.add((form_id, str(number)))


def _sub_head(model, key):
    """Sub-header fields (BD_MATERIAL `SubHeadEntity1.FSafeStock`) are queried by their key alone."""
    for name in metadata.SUB_HEADS:
        value = get(get(model, name), key)
        if value is not None:
            return value
    return None


def _has(part, key):
    return get(part, key, _MISSING) is not _MISSING


def known_key(form, key, records):
    base, _dot, sub = key.partition(".")
    upper = base.upper()
    if not base or any(upper == f"{e.key.upper()}_FENTRYID" for e in form.entities):
        return bool(base) and not sub
    if upper in form.standard_keys() and not sub:
        return True
    references = set(form.references) | {k for e in form.entities for k in e.references}
    declared = set(form.fields) | {k for e in form.entities for k in e.fields}
    if upper in references:
        return True
    if upper in declared:
        return not sub
    return any(_seen(record.model, base, sub, form) for record in records)


def _seen(model, base, sub, form):
    parts = [model] + [row for e in form.entities for row in (get(model, e.key) or []) if isinstance(row, dict)]
    return any(_has(part, base) and (not sub or isinstance(get(part, base), dict)) for part in parts)


def _candidates(form, tree):
    """Candidate records (a query, or a list for the user form), narrowed in the database by the filter's
    equalities on indexed columns and the likes of a material search: a superset, the filter itself decides."""
    if form.form_id == metadata.USER_FORM:
        return [_user_record(user) for user in KingdeeUser.objects.order_by("user_id")]
    query = FormRecord.objects.filter(form_id=form.form_id).alias(model_text=Cast("model", TextField()))
    columns = {"FTHIRDBILLNO": "third_bill_no__in", form.number_key.upper(): "number__in",
               form.pk.upper(): "fid__in", "FID": "fid__in"}
    if form.is_bill:
        columns["FBILLNO"] = "number__in"
    for key, values in filterstring.equalities(tree).items():
        base, _dot, sub = key.partition(".")
        if form.form_id == metadata.STK_INVENTORY.form_id and key == "FMATERIALID.FNUMBER":
            # Inventory rows are numbered "<material>|<warehouse>" by the sandbox: the unique index narrows.
            stocks = FormRecord.objects.filter(form_id="BD_STOCK").values_list("number", flat=True)
            query = query.filter(number__in=[f"{value}|{stock}" for value in values for stock in stocks])
        elif form.kind == "readonly" and sub == "FNUMBER" and form.references.get(base):
            # Inventory rows are written by the sandbox alone, references always as {"FNumber": …}:
            # `FMaterialId.FNumber in (…)` is narrowed inside the stored JSON.
            query = query.filter(**{f"model__{metadata.canonical(base)}__FNumber__in": list(values)})
        elif key in columns:
            if columns[key] == "fid__in":
                values = [int(v) for v in values if str(v).lstrip("-").isdigit()]
            query = query.filter(**{columns[key]: list(values)})
    for narrowing in _like_narrowings(form, tree) + _status_narrowings(tree):
        query = query.filter(narrowing)
    return query


def _records(form, tree):
    """Candidate records in internal-id order. Sorted here, not by the database: an ORDER BY fid would make it
    walk the (form, fid) index over every row of the form instead of looking the numbers up."""
    query = _candidates(form, tree)
    return query if isinstance(query, list) else sorted(query.order_by(), key=lambda record: record.fid)


def _like_narrowings(form, node):
    """Database prefilters for the `and`-ed parts of a filter that are `or`s of `like '%text%'` on the number,
    the name or the specification (a material search): a superset, the filter itself still decides."""
    if node is None:
        return []
    if node[0] == "and":
        return _like_narrowings(form, node[1]) + _like_narrowings(form, node[2])
    texts = _searched_texts(form, node) if form.form_id == search.FORM_ID else None
    if texts and all(search.indexable(text) for text in texts) and search.material_index():
        return [search.containing(texts)]
    q = _like_q(form, node)
    return [q] if q is not None else []


def _searched_texts(form, node):
    """The texts of an `or` of `like`s on the number, name or specification (what the material index
    holds), or None when any part is something else."""
    if node[0] == "or":
        left, right = _searched_texts(form, node[1]), _searched_texts(form, node[2])
        return left | right if left is not None and right is not None else None
    text = _like_text(form, node)
    key = node[1][1].upper() if text else ""
    searchable = key in (form.number_key.upper(), "FNUMBER", "FBILLNO", "FNAME", "FSPECIFICATION")
    return {text} if searchable else None


def _like_q(form, node):
    if node[0] == "or":
        left, right = _like_q(form, node[1]), _like_q(form, node[2])
        return left | right if left is not None and right is not None else None
    text = _like_text(form, node)
    if text is None:
        return None
    key = node[1][1].upper()
    if key == form.number_key.upper() or key in ("FNUMBER", "FBILLNO"):
        return Q(number__icontains=text)
    if key == "FNAME":
        return Q(name__icontains=text)
    if key == "FSPECIFICATION":  # always a top-level text of the model (sub-header fields are not)
        return _model_text_contains(text) or Q(model__FSpecification__icontains=text)
    return None


def _like_text(form, node):
    """The text of `Key like '%text%'` on a header field (no wildcards inside), else None."""
    if node[0] != "like" or node[3] or node[1][0] != "field" or node[2][0] != "lit":
        return None
    text = str(node[2][1]).strip("%")
    if not text or any(mark in text for mark in "%_[") or "." in node[1][1]:
        return None
    return text


def _model_text_contains(text):
    """`model`'s stored JSON text contains the text as JSON spells it there: a superset of "the specification
    contains it" that needs no JSON parsing per row (a third of the cost on SQLite). Only for printable text
    without quotes or backslashes whose non-ASCII characters have no case (CJK): JSON escapes each character on
    its own, and LIKE and Python then agree on what matches regardless of case."""
    if not text.isprintable() or any(mark in text for mark in '"\\'):
        return None
    if any(not char.isascii() and (char.lower() != char or char.upper() != char) for char in text):
        return None
    # SQLite keeps Django's json.dumps text (non-ASCII as \\uXXXX); PostgreSQL's jsonb prints it as itself.
    spelled = json.dumps(text, ensure_ascii=connection.vendor == "sqlite")[1:-1]
    return Q(model_text__icontains=spelled)


def _status_narrowings(node):
    """`FForbidStatus = 'A'` / `FDocumentStatus = 'C'` at the top level are stored columns."""
    found = filterstring.equalities(node)
    narrowings = []
    if "FFORBIDSTATUS" in found:
        narrowings.append(Q(forbidden__in=[value.upper() == "B" for value in found["FFORBIDSTATUS"]]))
    if "FDOCUMENTSTATUS" in found:
        narrowings.append(Q(document_status__in=[value.upper() for value in found["FDOCUMENTSTATUS"]]))
    return narrowings


def _user_record(user):
    model = {"FUserID": user.user_id, "FName": user.username, "FUserAccount": user.account or user.username,
             "FPhone": user.phone, "FEmail": user.email, "FDescription": user.display_name,
             "FStaffNumber": user.staff_number}
    return FormRecord(form_id=metadata.USER_FORM, fid=user.user_id, number=user.account or user.username,
                      name=user.username, document_status="C", forbidden=not user.enabled, model=model)


def _entity_for(form, keys):
    for key in keys:
        base = key.partition(".")[0]
        entity = form.entity_of_field(base)
        if entity:
            return entity
    return None


def _rows(records, entity):
    for record in records:
        entries = get(record.model, entity.key) if entity else None
        if entity and isinstance(entries, list) and entries:
            for entry in entries:
                yield record, entry
        else:
            yield record, None


def _split_keys(value):
    if isinstance(value, list):
        return [str(key).strip() for key in value if str(key).strip()]
    return [key.strip() for key in str(value or "").split(",") if key.strip()]


def _order(text):
    order = []
    for part in _split_keys(text):
        words = part.split()
        order.append((words[0], len(words) > 1 and words[1].upper() == "DESC"))
    return order


def _sort_key(value):
    if value in (None, ""):
        return (0, Decimal(0), "")
    number = filterstring.as_number(value)
    return (1, number, "") if number is not None else (2, Decimal(0), str(value))


def run_query(data):
    """(field keys, rows of values) for ExecuteBillQuery/BillQuery; raises BadRequest with Kingdee's MsgCode."""
    form_id = get(data, "FormId")
    if not form_id:
        raise BadRequest("表单Id(FormId)不能为空！", msg_code=5)
    form = metadata.form_for(str(form_id))
    keys = _split_keys(get(data, "FieldKeys"))
    if not keys:
        raise BadRequest("字段列表(FieldKeys)不能为空！")
    try:
        tree = filterstring.parse(_filter_text(get(data, "FilterString")))
    except filterstring.FilterError as exc:
        raise BadRequest(str(exc), msg_code=4) from exc
    order = _order(get(data, "OrderString"))
    paged = _paged_by_column(form, tree, keys, order, data)
    if paged is not None:
        return keys, paged
    records = _records(form, tree)
    metadata.discover_entities(form, [record.model for record in records])
    all_keys = keys + sorted(filterstring.field_keys(tree)) + [key for key, _desc in order]
    for key in all_keys:
        if not known_key(form, key, records):
            raise UnknownField(key)
    entity = _entity_for(form, all_keys)
    resolver = Resolver(form)
    matched = [(record, entry) for record, entry in _rows(records, entity)
               if filterstring.evaluate(tree, lambda key, r=record, e=entry: resolver.value(r, e, entity, key))]
    for key, descending in reversed(order):
        matched.sort(key=lambda row, k=key: _sort_key(resolver.value(row[0], row[1], entity, k)), reverse=descending)
    matched = _page(matched, data)
    resolver.prefetch(matched, entity, keys)
    return keys, [[resolver.value(record, entry, entity, key) for key in keys] for record, entry in matched]


COLUMN_BATCH = 200


def _order_column(form, key):
    """The stored column a header order key reads (as Resolver._standard resolves it), or None."""
    upper = key.upper()
    if upper in (form.pk.upper(), "FID"):
        return "fid"
    if upper in (form.number_key.upper(), "FBILLNO", "FNUMBER"):
        return "number"
    return None


def _paged_by_column(form, tree, keys, order, data):
    """The page of a header-only query on a described form ordered by its number or id (a material search:
    `… like '%x%'` ordered by FNumber, 20 rows), the way Kingdee's SQL answers it: the candidates' ids and
    numbers are ordered first, then whole records are read and filtered in that order only until the page
    (StartRow + Limit, within TopRowCount) is full. Same rows as the general path; None when it does not
    apply (entries, undescribed forms, keys only records reveal, other orders)."""
    if form.form_id.upper() not in metadata.FORMS or len(order) > 1:
        return None
    column = _order_column(form, order[0][0]) if order else "fid"
    all_keys = keys + sorted(filterstring.field_keys(tree)) + [key for key, _desc in order]
    if column is None or _entity_for(form, all_keys) is not None:
        return None
    for key in all_keys:
        if not known_key(form, key, []):
            return None
    start, limit, top = _window(data)
    wanted = start + limit if top <= 0 else min(top, start + limit)
    query = _candidates(form, tree)
    ids = sorted(query.order_by().values_list("fid", "number"), key=lambda pair: pair[0])
    if column == "number":
        ids.sort(key=lambda pair: _sort_key(pair[1]), reverse=bool(order and order[0][1]))
    elif order and order[0][1]:
        ids.reverse()
    resolver, matched = Resolver(form), []
    for offset in range(0, len(ids), COLUMN_BATCH):
        if len(matched) >= wanted:
            break
        chunk = [fid for fid, _number in ids[offset:offset + COLUMN_BATCH]]
        by_fid = {record.fid: record for record in FormRecord.objects.filter(form_id=form.form_id, fid__in=chunk)}
        for fid in chunk:
            record = by_fid.get(fid)
            if record is not None and filterstring.evaluate(
                    tree, lambda key, r=record: resolver.value(r, None, None, key)):
                matched.append(record)
                if len(matched) >= wanted:
                    break
    page = [(record, None) for record in matched[start:wanted]]
    resolver.prefetch(page, None, keys)
    return [[resolver.value(record, None, None, key) for key in keys] for record, _entry in page]


def _filter_text(value):
    if isinstance(value, list):  # the newer array form: [{"Left","FieldName","Compare","Value","Right","Logic"}]
        raise BadRequest("沙箱只支持字符串形式的过滤条件(FilterString)")
    return str(value or "")


def _window(data):
    """(StartRow, Limit, TopRowCount) as Kingdee reads them."""
    start = max(0, _int(get(data, "StartRow"), 0))
    limit = min(MAX_LIMIT, _int(get(data, "Limit"), 0) or DEFAULT_LIMIT)
    return start, limit, _int(get(data, "TopRowCount"), 0)


def _page(rows, data):
    start, limit, top = _window(data)
    if top > 0:
        rows = rows[:top]
    return rows[start:start + limit]


def _int(value, default):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def header_value(form, record, key):
    """A header value by field key (NeedReturnFields)."""
    return Resolver(form).value(record, None, None, key)


def view(form, data):
    """View: the record with ORM-style property names (`Id`, `BillNo`, `XXX_Id` + `XXX` for references)."""
    number, fid = get(data, "Number"), _int(get(data, "Id"), 0)
    query = FormRecord.objects.filter(form_id=form.form_id)
    record = query.filter(fid=fid).first() if fid else query.filter(number=str(number or "")).first()
    if record is None:
        return None
    resolver = Resolver(form)
    result = {"Id": record.fid, ("BillNo" if form.is_bill else "Number"): record.number,
              "DocumentStatus": record.document_status, "ForbidStatus": "B" if record.forbidden else "A"}
    if record.name:
        result["Name"] = [{"Key": 2052, "Value": record.name}]
    result.update(_orm(form, resolver, record, record.model, form.references))
    for entity in form.entities:
        rows = get(record.model, entity.key) or []
        result[entity.key[1:]] = [{"Id": get(row, "FEntryID"), "Seq": get(row, "FSeq"),
                                   **_orm(form, resolver, record, row, entity.references)} for row in rows]
    return result


def _orm(form, resolver, record, part, references):
    out = {}
    for key, value in part.items():
        if form.entity(key) or key.upper() in ("FENTRYID", "FSEQ", form.pk.upper()):
            continue
        name = key[1:] if key[:1] in "Ff" else key
        if key.upper() in references or isinstance(value, dict):
            lookup = references.get(key.upper()) or str(get(record.model, DYNAMIC_TYPE.get(key.upper(), "")) or "")
            target = resolver.lookups.find(lookup, reference_number(value)) if lookup and value else None
            out[f"{name}_Id"] = target.fid if target else 0
            out[name] = {"Id": target.fid, "Number": target.number,
                         "Name": [{"Key": 2052, "Value": target.name}]} if target else None
        else:
            out[name] = value
    return out
