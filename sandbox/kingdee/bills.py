"""DynamicFormService writes: Save, BatchSave, Draft, and the status operations (reference §5.1–5.3, §6)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from sandbox.kingdee import masterdata, metadata, stock
from sandbox.kingdee.models import FormRecord, Sequence
from sandbox.kingdee.query import header_value
from sandbox.kingdee.validation import Checker, Lookups, Problem
from sandbox.kingdee.wire import BadRequest, error, get, status, truthy

Status = FormRecord.Status
# A business rule the fault injector breaks, the way a closed period would.
INJECTED_ERROR = "业务日期所在期间已结账，不能保存单据！（沙箱注入的业务错误）"
ID_START = 100000


class PackageOutcome:
    def __init__(self, dindex, record=None, problems=(), need_return=None):
        self.dindex, self.record, self.problems = dindex, record, list(problems)
        self.need_return = need_return or {}


def save_packages(form, data, *, batch, draft=False, inject=lambda: False):
    """Each package is checked and stored in its own transaction: one failing leaves the others saved."""
    models = get(data, "Model")
    if batch and isinstance(models, dict):
        models = [models]
    if not batch and isinstance(models, list):
        raise BadRequest('无法将类型为"Kingdee.BOS.JSON.JSONArray"的对象强制转换为类型"Dictionary"')
    if not isinstance(models, list if batch else dict):
        raise BadRequest("Model 参数不能为空")
    if form.kind == "readonly":
        return [PackageOutcome(0, problems=[Problem("", f"{form.caption}不支持保存操作！", 12)])]
    lookups = Lookups()
    options = {
        "verify": truthy(get(data, "IsVerifyBaseDataField")),
        "audit": truthy(get(data, "IsAutoSubmitAndAudit")),
        "delete_entries": truthy(get(data, "IsDeleteEntry"), default=True),
        "update_fields": get(data, "NeedUpDateFields") or [],
        "return_fields": get(data, "NeedReturnFields") or [],
        "flags": str(get(data, "InterationFlags") or ""),
    }
    return [_save_one(form, model, index, options, lookups, draft, inject) for index, model in
            enumerate(models if batch else [models])]


def _save_one(form, model, dindex, options, lookups, draft, inject):
    if not isinstance(model, dict):
        message = '无法将类型为"Kingdee.BOS.JSON.JSONArray"的对象强制转换为类型"Dictionary"'
        return PackageOutcome(dindex, problems=[Problem("", message, 8)])
    clean, problems = Checker(form, model, options["verify"], lookups).run(draft=draft)
    if not problems and not draft and inject():
        problems = [Problem("FDATE", INJECTED_ERROR)]
    if problems:
        return PackageOutcome(dindex, problems=problems)
    try:
        with transaction.atomic():
            record, problem = _store(form, clean, options, draft)
    except IntegrityError:
        record, problem = None, _duplicate(form, _number_of(form, clean))
    if problem:
        return PackageOutcome(dindex, problems=[problem])
    return PackageOutcome(dindex, record, need_return=_need_return(form, record, options["return_fields"]))


def _store(form, model, options, draft):
    existing_id = _int(get(model, form.pk) or (get(model, "FID") if form.pk.upper() != "FID" else None))
    if existing_id:
        record = FormRecord.objects.filter(form_id=form.form_id, fid=existing_id).first()
        if record is None:
            return None, Problem(form.pk, f"内码为“{existing_id}”的{form.caption}不存在或已被删除！", 10)
        refusal = masterdata.edit_refusal(form, record, _label(form, record.number))
        if refusal:
            return None, Problem("", refusal)
        model = _merge(form, record.model, model, options)
    else:
        record = FormRecord(form_id=form.form_id, fid=Sequence.next(f"{form.form_id}:fid", ID_START))
    number = _number_of(form, model) or record.number or _next_number(form)
    if number != record.number and FormRecord.objects.filter(form_id=form.form_id, number=number).exists():
        return None, _duplicate(form, number)
    _assign_entry_ids(form, model)
    model[form.pk] = record.fid
    model[form.number_key] = number
    record.number = number
    record.name = _name(model)
    record.third_bill_no = str(get(model, "FTHIRDBILLNO") or "")[:200]
    record.model = model
    if options["audit"] and not draft:
        if record.document_status != Status.AUDITED:
            problem = stock.post(form.form_id, model, 1, options["flags"])
            if problem:
                transaction.set_rollback(True)
                return None, problem
        record.document_status = Status.AUDITED
    elif draft:
        record.document_status = Status.DRAFT
    elif record.document_status == Status.DRAFT or not existing_id:
        record.document_status = Status.CREATED
    record.save()
    masterdata.after_save(form, record, created=not existing_id)
    return record, None


def _assign_detail_ids(form, entity, model):
    """Sub-entity rows (子单据体) get FDetailID, numbered per form, and FSeq within their parent row."""
    for parent in metadata_rows(form, entity.parent, model):
        key = next((k for k in parent if k.upper() == entity.key.upper()), None)
        rows = parent.get(key) if key else None
        if isinstance(rows, dict):
            rows = parent[key] = [rows]
        if not isinstance(rows, list):
            continue
        fresh = [row for row in rows if isinstance(row, dict) and not _int(get(row, "FDetailID"))]
        last = Sequence.next(f"{form.form_id}:detail", ID_START, len(fresh)) if fresh else 0
        for offset, row in enumerate(fresh):
            row["FDetailID"] = last - len(fresh) + 1 + offset
        for seq, row in enumerate([row for row in rows if isinstance(row, dict)], start=1):
            row["FSeq"] = seq


def metadata_rows(form, key, model):
    entity = form.entity(key)
    return entity.rows(model) if entity else []


def _merge(form, old, new, options):
    fields = [str(name).upper() for name in options["update_fields"]]
    merged = dict(old)
    for key, value in new.items():
        if fields and key.upper() not in fields and key.upper() != form.pk.upper():
            continue
        entity = form.entity(key)
        if entity and not options["delete_entries"] and isinstance(value, list):
            value = _merge_rows(get(old, entity.key) or [], value)
        merged[next((k for k in old if k.upper() == key.upper()), key)] = value
    return merged


def _merge_rows(old_rows, new_rows):
    by_id = {get(row, "FEntryID"): row for row in old_rows}
    for row in new_rows:
        by_id[get(row, "FEntryID") or object()] = row
    return list(by_id.values())


def _assign_entry_ids(form, model):
    for entity in form.entities:
        if entity.parent:
            _assign_detail_ids(form, entity, model)
            continue
        key = next((k for k in model if k.upper() == entity.key.upper()), None)
        rows = model.get(key) if key else None
        if isinstance(rows, dict):
            rows = model[key] = [rows]
        if not isinstance(rows, list):
            continue
        fresh = [row for row in rows if not _int(get(row, "FEntryID"))]
        last = Sequence.next(f"{form.form_id}:entry", ID_START, len(fresh)) if fresh else 0
        for offset, row in enumerate(fresh):
            row.pop(next((k for k in row if k.upper() == "FENTRYID"), "FEntryID"), None)
            row["FEntryID"] = last - len(fresh) + 1 + offset
        for seq, row in enumerate(rows, start=1):
            row["FSeq"] = seq


def _next_number(form):
    while True:
        value = Sequence.next(f"{form.form_id}:number", 0)
        number = f"{form.number_prefix}{value:0{form.number_digits}d}"
        if not FormRecord.objects.filter(form_id=form.form_id, number=number).exists():
            return number


def _number_of(form, model):
    value = get(model, form.number_key)
    if value in (None, "") and form.number_key.upper() != "FNUMBER" and form.kind == "basedata":
        value = get(model, "FNumber")
    return str(value).strip() if value not in (None, "") else ""


def _name(model):
    name = get(model, "FName")
    if isinstance(name, list):  # multilingual [{"Key": 2052, "Value": …}]
        name = next((get(item, "Value") for item in name if str(get(item, "Key")) == "2052"), "")
    return str(name or "")[:200]


def _duplicate(form, number):
    if form.is_bill:
        return Problem("FBillNo", f"违反字段唯一性要求：编码唯一。[{number}]在当前系统中已经被使用。")
    return Problem("FNumber,FUseOrgId", f'编码为"{number}"的{form.caption}，组织内编码唯一')


def _need_return(form, record, keys):
    return {str(key): header_value(form, record, str(key)) for key in keys if isinstance(key, str)}


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def _label(form, number):
    return f"单据编号为“{number}”的{form.caption}" if form.is_bill else f"编码为“{number}”的{form.caption}"


def save_result(outcomes):
    """The Result object of Save/BatchSave/Draft."""
    entities, errors, codes, returns = [], [], [], []
    for outcome in outcomes:
        if outcome.record is not None:
            entities.append({"Id": outcome.record.fid, "Number": outcome.record.number, "DIndex": outcome.dindex})
            returns.append(outcome.need_return)
        for problem in outcome.problems:
            errors.append(error(problem.message, problem.field, outcome.dindex))
            codes.append(problem.msg_code)
    first = outcomes[0].record if len(outcomes) == 1 and outcomes[0].record else None
    return {"Result": {
        "ResponseStatus": status(errors, entities, msg_code=codes[0] if codes else 0),
        "Id": first.fid if first else "", "Number": first.number if first else "", "NeedReturnData": returns or [{}],
    }}


# --- status operations -----------------------------------------------------------------

# operation → (allowed from, target status, refusal message by current status, success verb)
TRANSITIONS = {
    "submit": ({Status.CREATED, Status.REAUDIT}, Status.SUBMITTED,
               {Status.DRAFT: "暂存的单据不能提交，请先保存！", Status.SUBMITTED: "单据已经提交！",
                Status.AUDITED: "单据已经审核！"}, "提交成功！"),
    "audit": ({Status.SUBMITTED}, Status.AUDITED,
              {Status.AUDITED: "单据已经审核！", Status.DRAFT: "单据未提交，不能审核！",
               Status.CREATED: "单据未提交，不能审核！", Status.REAUDIT: "单据未提交，不能审核！"}, "审核成功！"),
    "cancelassign": ({Status.SUBMITTED}, Status.CREATED, {Status.AUDITED: "单据已经审核，不能撤销！"}, "撤销成功！"),
    "unaudit": ({Status.AUDITED}, Status.REAUDIT, {}, "反审核成功！"),
    "delete": ({Status.DRAFT, Status.CREATED, Status.REAUDIT}, None,
               {Status.SUBMITTED: "单据已经提交，不能删除！", Status.AUDITED: "单据已经审核，不能删除！"}, "删除成功！"),
}
REFUSED_DEFAULT = {"unaudit": "单据未审核，不能反审核！", "cancelassign": "单据未提交，不能撤销！"}


def targets(form, data):
    """[(dindex, key shown in messages, record or None)] from Numbers or Ids."""
    numbers = get(data, "Numbers") or []
    if isinstance(numbers, str):
        numbers = [n for n in numbers.split(",") if n.strip()]
    ids = get(data, "Ids") or []
    if isinstance(ids, (str, int)):
        ids = [i for i in str(ids).split(",") if i.strip()]
    wanted = [("number", str(n).strip()) for n in numbers] or [("id", _int(i)) for i in ids]
    if not wanted:
        raise BadRequest("Numbers 和 Ids 不能同时为空！")
    found = []
    for index, (kind, key) in enumerate(wanted):
        query = FormRecord.objects.filter(form_id=form.form_id)
        record = query.filter(number=key).first() if kind == "number" else query.filter(fid=key).first()
        found.append((index, key, record))
    return found


def operate(form, operation, data):
    """Submit / Audit / UnAudit / Delete / Forbid / Enable, bill by bill."""
    entities, errors, messages = [], [], []
    for dindex, key, record in targets(form, data):
        if record is None:
            errors.append(error(f"{_label(form, key)}不存在或已被删除！", "", dindex))
            continue
        with transaction.atomic():
            problem = _apply(form, operation, record, str(get(data, "InterationFlags") or ""))
        label = _label(form, record.number)
        if isinstance(problem, Problem):  # an interaction: its own FieldName
            errors.append(error(f"{label}，{problem.message}", problem.field, dindex))
            continue
        if problem:
            errors.append(error(f"{label}，{problem}", "", dindex))
            continue
        entities.append({"Id": record.fid, "Number": record.number, "DIndex": dindex})
        verb = {"forbid": "禁用成功！", "enable": "反禁用成功！"}.get(operation) or TRANSITIONS[operation][3]
        messages.append(error(f"{label}，{verb}", "", dindex))
    return {"Result": {"ResponseStatus": status(errors, entities, messages, msg_code=11 if errors else 0)}}


def _apply(form, operation, record, flags=""):
    if operation in ("forbid", "enable"):
        forbidden = operation == "forbid"
        if record.forbidden == forbidden:
            return "数据已经禁用！" if forbidden else "数据未禁用，不需要反禁用！"
        FormRecord.objects.filter(pk=record.pk).update(forbidden=forbidden, modified_at=timezone.now())
        return None
    allowed, target, refusals, _verb = TRANSITIONS[operation]
    # Conditional update: two concurrent audits of one bill cannot both succeed.
    current = FormRecord.objects.filter(pk=record.pk).values_list("document_status", flat=True).first()
    if current not in allowed:
        return refusals.get(current) or REFUSED_DEFAULT.get(operation, "单据状态不允许该操作！")
    if target is None:
        FormRecord.objects.filter(pk=record.pk, document_status=current).delete()
    elif not FormRecord.objects.filter(pk=record.pk, document_status=current).update(document_status=target):
        return "单据状态已被其他操作修改，请刷新后重试！"
    if operation in ("audit", "unaudit"):  # audit moves stock, un-audit moves it back
        problem = stock.post(form.form_id, record.model, 1 if operation == "audit" else -1, flags)
        if problem:
            transaction.set_rollback(True)
            return problem
    return None


def form_of(call):
    form_id = call.params.get("formid")
    if not form_id:
        raise BadRequest("表单Id(formid)不能为空！", msg_code=5)
    return metadata.form_for(str(form_id))


def with_entities(form, data):
    """Generic forms learn their entities from the packages they are sent."""
    models = get(data, "Model")
    return metadata.discover_entities(form, models if isinstance(models, list) else [models])
