"""Rules of Kingdee's master data (BD_Department, BD_Empinfo, BD_Customer) beyond the generic Save checks.

Round 2 §2–3: audited base data is updated in place by a Save with its internal id and `NeedUpDateFields`
(bills are not: they must be un-audited first); a forbidden record refuses edits until it is enabled; a
department's parent must exist and be enabled, and a department cannot sit below itself.

BD_Customer (round 2 §4): a new customer needs its creating organisation and settlement currency (R2's required
set); its number, when sent, is unique per form (MsgCode 11, the generic check) and when empty comes from the
coding rule (`CUST` + 4 digits); a forbidden customer refuses edits until it is enabled. Name and credit-code
duplicates are not refused (Kingdee does not by default): the portal must look before it creates.
"""

from sandbox.kingdee.models import FormRecord, KingdeeUser, Sequence
from sandbox.kingdee.validation import Problem, reference_number
from sandbox.kingdee.wire import get, truthy

DEPARTMENT, EMPLOYEE, CUSTOMER = "BD_Department", "BD_Empinfo", "BD_Customer"
CUSTOMER_REQUIRED = (("FCreateOrgId", "创建组织"), ("FTRADINGCURRID", "结算币别"))
USER_ID_START = 200000
LOCKED = (FormRecord.Status.SUBMITTED, FormRecord.Status.AUDITED)


def edit_refusal(form, record, label):
    """Why `record` cannot be saved over now, or "" when it can."""
    if form.kind == "basedata":
        return f"{label}，数据已禁用，不允许修改！请先反禁用。" if record.forbidden else ""
    if record.document_status in LOCKED:
        return f"{label}，单据已经提交或审核，不允许修改！"
    return ""


def check(checker):
    """Problems of one package of a master-data form, before the generic reference checks run."""
    if checker.form.form_id == CUSTOMER:
        return check_customer(checker)
    if checker.form.form_id != DEPARTMENT:
        return
    raw = get(checker.model, "FParentID")
    parent = reference_number(raw)
    if parent is None:
        return
    own = str(get(checker.model, "FNumber") or "") or _number_of(get(checker.model, "FDEPTID"))
    record = FormRecord.objects.filter(form_id=DEPARTMENT, number=parent).first()
    if (record is None or record.forbidden) and not checker.verify:  # verified references are refused anyway
        state = "不存在" if record is None else "已禁用"
        checker.problems.append(Problem("FParentID", f"字段“上级部门”(FParentID)的值“{parent}”{state}！", 9))
    elif own and own in ancestors(parent) | {parent}:
        checker.problems.append(Problem("FParentID", f"部门“{own}”不能以自己或下级部门“{parent}”为上级部门！"))


def check_customer(checker):
    """A new customer (no FCUSTID) carries its creating organisation and settlement currency."""
    if str(get(checker.model, "FCUSTID") or "0").strip() not in ("", "0"):
        return
    for key, caption in CUSTOMER_REQUIRED:
        if get(checker.model, key) in (None, "", {}, []):
            checker.problems.append(Problem(key, f"字段“{caption}”是必填项！"))


def ancestors(number):
    """The numbers above a department, following FParentID."""
    seen, current = set(), number
    while current and current not in seen:
        seen.add(current)
        model = FormRecord.objects.filter(form_id=DEPARTMENT, number=current).values_list("model", flat=True).first()
        current = reference_number(get(model or {}, "FParentID"))
    return seen - {number}


def _number_of(fid):
    try:
        fid = int(fid or 0)
    except (TypeError, ValueError):
        return ""
    return FormRecord.objects.filter(form_id=DEPARTMENT, fid=fid).values_list("number", flat=True).first() or ""


def after_save(form, record, created):
    """A new employee saved with `FCreateUser` also gets a login user (SEC_User) of their name and number."""
    if form.form_id != EMPLOYEE or not created or not truthy(get(record.model, "FCreateUser")):
        return
    if KingdeeUser.objects.filter(staff_number=record.number).exists():
        return
    username = record.name if not KingdeeUser.objects.filter(username=record.name).exists() else \
        f"{record.name}{record.number}"
    KingdeeUser.objects.create(user_id=Sequence.next("SEC_User:id", USER_ID_START), username=username,
                               account=record.number, display_name=record.name, staff_number=record.number,
                               phone=str(get(record.model, "FMobile") or ""))
