"""Save-time checks: base-data references, dates and amounts, required fields, AP_PAYBILL rules.

Messages follow Kingdee's style (Chinese, naming the field's caption) and add the field
key, so that an integration can tell which mapping row to fix. References §6.3 and §7.2.
"""

import copy
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sandbox.kingdee import metadata
from sandbox.kingdee.metadata import BANK_SETTLE_CATEGORIES, CONTACT_UNIT_TYPES, DYNAMIC_TYPE, canonical
from sandbox.kingdee.models import FormRecord
from sandbox.kingdee.wire import get

NUMBER_KEYS = ("FNUMBER", "FSTAFFNUMBER", "FBILLNO")
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d", "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S.%f")
PAYBILL_REQUIRED = ("FBILLTYPEID", "FDATE", "FCONTACTUNITTYPE", "FCONTACTUNIT", "FRECTUNITTYPE", "FRECTUNIT",
                    "FCURRENCYID", "FPAYORGID")
PAYBILL_ENTRY_REQUIRED = ("FSETTLETYPEID", "FPURPOSEID")


class Problem:
    """One failed check: Kingdee's FieldName, message and MsgCode."""

    def __init__(self, field, message, msg_code=11):
        self.field, self.message, self.msg_code = field, message, msg_code


class Lookups:
    """Base-data records by (form, number), cached for one request."""

    def __init__(self):
        self._cache = {}

    def find(self, form_id, number):
        key = (form_id.upper(), str(number))
        if key not in self._cache:
            self._cache[key] = FormRecord.objects.filter(form_id=metadata.form_for(form_id).form_id,
                                                         number=str(number)).first()
        return self._cache[key]

    def preload(self, wanted):
        """Reads the records of (form, number) pairs in one query per form and 500 numbers, not one each."""
        wanted = {(form_id, str(number)) for form_id, number in wanted
                  if (form_id.upper(), str(number)) not in self._cache}
        by_form, found = {}, {}
        for form_id, number in wanted:
            by_form.setdefault(metadata.form_for(form_id).form_id, set()).add(number)
        for form_id, numbers in by_form.items():
            numbers = sorted(numbers)
            for start in range(0, len(numbers), 500):
                chunk = FormRecord.objects.filter(form_id=form_id, number__in=numbers[start:start + 500])
                found.update(((form_id, record.number), record) for record in chunk.order_by())
        for form_id, number in wanted:
            self._cache[(form_id.upper(), number)] = found.get((metadata.form_for(form_id).form_id, number))

    def usable(self, form_id, number, bill_form=None):
        """The record if it exists, is audited and not forbidden (forbidden counts as missing)."""
        record = self.find(form_id, number)
        if record is None or record.forbidden or record.document_status != FormRecord.Status.AUDITED:
            return None
        if bill_form and form_id == "BOS_BillType":
            owner = str(get(record.model, "FBillFormID") or "")
            if owner.upper() != bill_form.upper():
                return None
        return record


def reference_number(value):
    """The number a reference carries: {"FNumber": …}, {"FNUMBER": …}, {"FSTAFFNUMBER": …} or a bare value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.upper() in NUMBER_KEYS and item not in (None, ""):
                return str(item)
        return None
    if value in (None, "") or isinstance(value, (list, bool)):
        return None
    return str(value)


def _row_prefix(row):
    return f"第{row}行分录，" if row else ""


def _caption(form, key):
    return f"“{form.caption_of(key)}”({canonical(key)})"


def required_problem(form, key, row=None):
    return Problem(canonical(key), f"{_row_prefix(row)}字段{_caption(form, key)}是必填项！")


class Checker:
    """Normalises one Model package in place and collects its problems."""

    def __init__(self, form, model, verify_base_data, lookups):
        self.form = form
        self.model = copy.deepcopy(model)
        self.verify = verify_base_data
        self.lookups = lookups
        self.problems = []

    def run(self, draft=False):
        from sandbox.kingdee import masterdata

        masterdata.check(self)
        self._check_part(self.model, self.form.references, None)
        for entity in self.form.entities:
            for index, row in enumerate(entity.rows(self.model), start=1):
                self._check_part(row, entity.references, index)
        if not draft and not self.problems:
            self._rules()
        return self.model, self.problems

    def _check_part(self, part, references, row):
        for key in list(part):
            upper = key.upper()
            if upper in references:
                self._check_reference(part, key, references[upper] or self._dynamic_type(part, upper, row), row)
            elif upper in self.form.dates:
                self._normalise_date(part, key, row)
            elif upper in self.form.amounts:
                self._normalise_amount(part, key, row)

    def _dynamic_type(self, part, upper, row):
        type_key = DYNAMIC_TYPE[upper]
        value = str(get(part, type_key) or "")
        match = next((name for name in CONTACT_UNIT_TYPES if name.upper() == value.upper()), None)
        if value and match is None:
            self.problems.append(Problem(type_key, f"{_row_prefix(row)}字段{_caption(self.form, type_key)}的值"
                                                   f"“{value}”不是有效的往来单位类型！"))
        return match

    def _check_reference(self, part, key, lookup_form, row):
        number = reference_number(part[key])
        if number is None:
            part[key] = None
            return
        if not lookup_form:
            return
        if self.lookups.usable(lookup_form, number, bill_form=self.form.form_id):
            part[key] = {"FNumber": number}
            return
        if self.verify:
            caption = metadata.form_for(lookup_form).caption
            self.problems.append(Problem(canonical(key), f"{_row_prefix(row)}字段{_caption(self.form, key)}的值"
                                                         f"“{number}”在基础资料“{caption}”({lookup_form})中不存在、"
                                                         f"未审核或已禁用！", msg_code=9))
        else:
            part[key] = None  # Kingdee silently empties an unknown reference (pitfall 3)

    def _normalise_date(self, part, key, row):
        value = part[key]
        if value in (None, ""):
            return
        for pattern in DATE_FORMATS:
            try:
                part[key] = datetime.strptime(str(value), pattern).strftime("%Y-%m-%dT%H:%M:%S")
                return
            except ValueError:
                continue
        self.problems.append(Problem(canonical(key), f"{_row_prefix(row)}字段{_caption(self.form, key)}的值"
                                                     f"“{value}”不是有效的日期！"))

    def _normalise_amount(self, part, key, row):
        value = part[key]
        if value in (None, ""):
            return
        try:
            number = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            self.problems.append(Problem(canonical(key), f"{_row_prefix(row)}字段{_caption(self.form, key)}的值"
                                                         f"“{value}”不是有效的数字！"))
            return
        part[key] = int(number) if number == number.to_integral_value() else float(number)

    def _rules(self):
        from sandbox.kingdee import accounting

        if getattr(self.form, "rules", None):  # forms that carry their own (sandbox/kingdee/forms_trade.py)
            self.form.rules(self)
        elif self.form.form_id == "AP_PAYBILL":
            paybill_rules(self)
        elif self.form.kind == "basedata" and not get(self.model, "FName") and self._sends("FName"):
            self.problems.append(required_problem(self.form, "FNAME"))
        if not self.problems:
            accounting.rules(self)  # voucher balance and numbers, closed periods

    def _sends(self, key):
        """A new record must carry the field; an update by internal id only when it sends it."""
        updating = str(get(self.model, self.form.pk) or "0").strip() not in ("", "0")
        return not updating or key.upper() in {name.upper() for name in self.model}


def _present(part, key):
    value = get(part, key)
    return value not in (None, "", {}, [])


def paybill_rules(checker):
    model, form, problems = checker.model, checker.form, checker.problems
    _paybill_defaults(model)
    problems.extend(required_problem(form, key) for key in PAYBILL_REQUIRED if not _present(model, key))
    rows = get(model, "FPAYBILLENTRY")
    if not isinstance(rows, list) or not rows:
        problems.append(Problem("FPAYBILLENTRY", "单据体“付款单明细”(FPAYBILLENTRY)至少需要录入一行分录！"))
        return
    for index, row in enumerate(rows, start=1):
        problems.extend(_paybill_row_problems(checker, row, index))
    if not problems:
        total = sum(get(row, "FPAYAMOUNTFOR_E") or 0 for row in rows)
        model["FPAYAMOUNTFOR"] = model["FREALPAYAMOUNTFOR"] = total


def _paybill_defaults(model):
    for key, source in (("FSETTLECUR", "FCURRENCYID"), ("FSETTLEMAINBOOKID", "FCURRENCYID"),
                        ("FSETTLEORGID", "FPAYORGID")):
        if not _present(model, key) and _present(model, source):
            model[key] = get(model, source)
    for key, default in (("FEXCHANGERATE", 1), ("FSETTLERATE", 1), ("FCancelStatus", "A"), ("FBUSINESSTYPE", "3")):
        if not _present(model, key):
            model[key] = default


def _paybill_row_problems(checker, row, index):
    if not isinstance(row, dict):
        return [Problem("FPAYBILLENTRY", f"第{index}行分录：无法将类型为\"Kingdee.BOS.JSON.JSONArray\"的对象强制转换为"
                                         f"类型\"Dictionary\"")]
    form = checker.form
    found = [required_problem(form, key, index) for key in PAYBILL_ENTRY_REQUIRED if not _present(row, key)]
    amount = get(row, "FPAYTOTALAMOUNTFOR")
    if amount in (None, ""):
        amount = get(row, "FPAYAMOUNTFOR_E")
        row["FPAYTOTALAMOUNTFOR"] = amount
    if not isinstance(amount, (int, float)) or amount <= 0:
        found.append(Problem("FPAYTOTALAMOUNTFOR", f"第{index}行分录，字段{_caption(form, 'FPAYTOTALAMOUNTFOR')}"
                                                   f"必须大于0！"))
    for key in ("FPAYAMOUNTFOR_E", "FPAYAMOUNT_E"):
        if not _present(row, key):
            row[key] = amount
    settle = reference_number(get(row, "FSETTLETYPEID"))
    settle_type = checker.lookups.find("BD_SETTLETYPE", settle) if settle else None
    if settle_type and str(get(settle_type.model, "FType")) in BANK_SETTLE_CATEGORIES and not _present(row, "FACCOUNTID"):
        found.append(Problem("FACCOUNTID", f"第{index}行分录，银行业务的结算方式，我方银行相关信息必录！"))
    return found
