"""Approval templates of the sandbox and the encoding of their values as DingTalk returns them.

The 费用报销 template is the seed interface's (sandbox/roster.py). A second template,
出差申请, carries every other component type of reference §3.4 so that clients meet
the awkward encodings: multi-selects and date ranges as JSON text, contacts with their
`emplId` in ext_value, attachments and photos, a note without a value, and a detail
table that comes back as its schema when left empty.
"""

import json
from decimal import Decimal, InvalidOperation

from sandbox import roster

EXPENSE_OPTIONS = {
    "报销类别": list(roster.REIMBURSEMENT_KINDS),
    "行政报销类型": roster.REIMBURSEMENT_KINDS["行政报销"],
    "项目报销类型": roster.REIMBURSEMENT_KINDS["项目报销"],
    "费用归属项目": roster.PROJECTS,
    "费用明细": [label for label, _number in roster.EXPENSE_ITEMS],
}

TRAVEL_PROCESS_CODE = "PROC-3E9A1D7C-52B8-4C0F-9E61-CHUCHAISHENQING"
TRAVEL_PROCESS_NAME = "出差申请"
TRAVEL_FORM = [
    ("TextField_1K2QX0N8Y5LC0", "出差事由", "TextField"),
    ("DDSelectField_0M5D9P2HSE2O0", "交通工具", "DDSelectField"),
    ("DDMultiSelectField_1T7W4L0QZJGG0", "出行方式", "DDMultiSelectField"),
    ("DDDateRangeField_2C8V5QW1F9A80", '["开始时间","结束时间"]', "DDDateRangeField"),
    ("NumberField_0P4Z2R6H1QSW0", "出差天数", "NumberField"),
    ("InnerContactField_1X9G3M7E2K4O0", "同行人", "InnerContactField"),
    ("DepartmentField_2R5T8K1W0PZK0", "费用承担部门", "DepartmentField"),
    ("AddressField_0J3N6Q9D2VAS0", "目的地", "AddressField"),
    ("TextNote_1L8B4Y2C7TX80", "", "TextNote"),
    ("TableField_2H6K9S3D1M5C0", "行程明细", "TableField"),
    ("MoneyField_0F7X2J5N8Q3G0", "预计费用(元)", "MoneyField"),
    ("DDPhotoField_1W4E7R0T3Y6U0", "图片", "DDPhotoField"),
    ("DDAttachment_2A5S8D1F4G7H0", "附件", "DDAttachment"),
    ("RelateField_0Z3X6C9V2B5N0", "关联审批", "RelateField"),
]
TRAVEL_TABLE_COLUMNS = [
    ("TextField_1Q4W7E0R3T6Y0", "出发城市", "TextField"),
    ("TextField_2U5I8O1P4A7S0", "到达城市", "TextField"),
    ("MoneyField_0D3F6G9H2J5K0", "交通费(元)", "MoneyField"),
]
TRAVEL_OPTIONS = {"交通工具": ["飞机", "高铁", "自驾", "其他"], "出行方式": ["单程", "往返", "多程"]}


def template_form(components, columns, options):
    """The template definition kept on ProcessTemplate.form (shown in the admin)."""
    form = []
    for component_id, label, kind in components:
        item = {"id": component_id, "label": label, "componentType": kind}
        if label in options:
            item["options"] = options[label]
        if kind == "TableField":
            item["children"] = [{"id": c, "label": lab, "componentType": k} for c, lab, k in columns]
        form.append(item)
    return form


def dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def money_text(amount):
    """DingTalk drops trailing zeros: 150, 280.5, 1234.56."""
    text = format(Decimal(amount).quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def select_ext(label, options):
    return {"label": label, "key": f"option_{options.index(label)}"}


def component(component_id, name, kind, value, ext_value=None):
    """One item of form_component_values, in the old API's names (values always strings)."""
    item = {"id": component_id, "name": name, "component_type": kind, "value": value}
    if ext_value is not None:
        item["ext_value"] = ext_value if isinstance(ext_value, str) else dumps(ext_value)
    return item


def table_cell(column, value, extend=None, legacy=False):
    component_id, label, kind = column
    if legacy:  # older data: key is the label, no type or extendValue
        return {"label": label, "value": value, "key": label}
    cell = {"label": label, "key": component_id, "componentType": kind, "value": value}
    if extend is not None:
        cell["extendValue"] = extend
    return cell


def table_value(table_id, rows, rng):
    return dumps([{"rowNumber": f"{table_id}_{rng.getrandbits(40):010X}", "rowValue": row} for row in rows])


def table_schema(columns):
    """What an empty detail table has been seen to return instead of rows."""
    return dumps([
        {"componentName": kind, "componentType": kind,
         "props": {"id": component_id, "label": label, "placeholder": "请输入", "required": False}}
        for component_id, label, kind in columns
    ])


OPTIONS = {**EXPENSE_OPTIONS, **TRAVEL_OPTIONS}


class FormError(ValueError):
    """A create request's form values do not fit the template."""


def stored_values(template_form, items, rng):
    """`form_component_values` in the create format (reference §3.4: tables as a JSON 2-D array of
    {name, value}) → the values as the get APIs return them, in the template's order."""
    given = {}
    for item in items:
        if not isinstance(item, dict) or "value" not in item:
            raise FormError("form_component_values的每一项需要name和value")
        given[item.get("name") or item.get("id")] = item["value"]
    values = []
    for spec in template_form:
        component_id, label, kind = spec["id"], spec["label"], spec["componentType"]
        if kind == "TextNote":
            values.append({"id": component_id, "component_type": "TextNote"})
            continue
        raw = given.get(label, given.get(component_id))
        if raw in (None, ""):
            values.append(component(component_id, label, kind, "null"))
        elif kind == "TableField":
            values.append(component(component_id, label, kind, _table(spec, raw, rng),
                                    {"statValue": [], "componentName": "TableField"}))
        else:
            values.append(component(component_id, label, kind, *_field(label, kind, raw)))
    return values


def _field(label, kind, raw):
    """(value, ext_value) of one header field as stored."""
    if kind == "MoneyField":
        amount = _decimal(label, raw)
        return money_text(amount), {"upper": rmb_upper(amount), "componentName": "MoneyField"}
    if kind == "DDSelectField" and label in OPTIONS:
        if raw not in OPTIONS[label]:
            raise FormError(f"{label}的值“{raw}”不是可选项")
        return raw, select_ext(raw, OPTIONS[label])
    return (raw if isinstance(raw, str) else dumps(raw)), None


def _table(spec, raw, rng):
    try:
        rows = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        rows = None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise FormError(f"{spec['label']}的值需要是二维数组的JSON")
    columns = [(child["id"], child["label"], child["componentType"]) for child in spec.get("children", [])]
    stored = []
    for row in rows:
        cells = {cell.get("name"): cell.get("value") for cell in row if isinstance(cell, dict)}
        stored.append([_cell(column, cells.get(column[1])) for column in columns])
    return table_value(spec["id"], stored, rng)


def _cell(column, raw):
    _component_id, label, kind = column
    if raw in (None, ""):
        return table_cell(column, "null")
    if kind == "MoneyField":
        return table_cell(column, money_text(_decimal(label, raw)))
    if kind == "DDSelectField" and label in OPTIONS:
        if raw not in OPTIONS[label]:
            raise FormError(f"{label}的值“{raw}”不是可选项")
        return table_cell(column, raw, select_ext(raw, OPTIONS[label]))
    return table_cell(column, str(raw))


def _decimal(label, raw):
    try:
        return Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        raise FormError(f"{label}的值“{raw}”不是金额") from None


_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def rmb_upper(amount):
    """壹佰伍拾元整: the `upper` DingTalk puts in a MoneyField's ext_value."""
    cents = int((Decimal(amount) * 100).quantize(Decimal(1)))
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = _integer_upper(yuan) + "元" if yuan else ""
    if jiao == fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text


def _integer_upper(number):
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    text, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = bool(text)
            continue
        if text and (group < 1000 or gap):
            text += "零"
        text += _group_upper(group) + ["", "万", "亿"][index]
        gap = False
    return text


def _group_upper(group):
    text, zero = "", False
    for position in (3, 2, 1, 0):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + ["", "拾", "佰", "仟"][position]
    return text
