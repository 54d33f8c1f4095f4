"""The sandbox's accounting side (round 2 §5, §8, §9): GL_VOUCHER with the balance rule and voucher numbers,
accounting periods per module (GL, AP) with the door `POST /sandbox/kingdee/_periods`, and attachments
(AttachmentUpLoad / UploadFile / AttachmentDownLoad, stored as BOS_Attachment records).

The period and refusal texts are the reference's [U] samples: a closed period is every month up to and including
`closed_through`; the module's current period is the month after it.
"""


def forms():
    """The forms this module adds to `metadata.FORMS` (imported lazily: metadata imports this module)."""
    from sandbox.kingdee.metadata import CURRENCY, DEPT, ORG, Entity, Form, _basedata, _upper

    voucher = Form(
        "GL_VOUCHER", "凭证", pk="FVOUCHERID", number_prefix="PZ",
        fields=_upper({"FVOUCHERID": "凭证内码", "FBillNo": "凭证编号", "FAccountBookID": "账簿", "FDate": "日期",
                       "FBUSDATE": "业务日期", "FYEAR": "会计年度", "FPERIOD": "期间", "FVOUCHERGROUPID": "凭证字",
                       "FVOUCHERGROUPNO": "凭证号", "FATTACHMENTS": "附单据数", "FACCBOOKORGID": "核算组织",
                       "FISADJUSTVOUCHER": "调整期凭证", "FSourceBillKey": "来源单据", "FDEBITTOTAL": "借方总金额",
                       "FCREDITTOTAL": "贷方总金额"}),
        references=_upper({"FAccountBookID": "BD_AccountBook", "FVOUCHERGROUPID": "BD_VoucherGroup",
                           "FACCBOOKORGID": ORG}),
        entities=[Entity("FEntity", "凭证分录", _upper({
            "FEntryID": "分录内码", "FSeq": "序号", "FEXPLANATION": "摘要", "FACCOUNTID": "科目编码",
            "FDetailID": "核算维度", "FDC": "借贷方向", "FDEBIT": "借方金额", "FCREDIT": "贷方金额",
            "FAMOUNTFOR": "原币金额", "FCURRENCYID": "币别", "FEXCHANGERATETYPE": "汇率类型",
            "FEXCHANGERATE": "汇率", "FSETTLETYPEID": "结算方式", "FSETTLENO": "结算号"}),
            _upper({"FACCOUNTID": "BD_Account", "FCURRENCYID": CURRENCY, "FSETTLETYPEID": "BD_SETTLETYPE"}))],
        dates=("FDATE", "FBUSDATE"), amounts=("FDEBIT", "FCREDIT", "FAMOUNTFOR", "FEXCHANGERATE"),
    )
    other_payable = Form(
        "AP_OtherPayable", "其他应付单", number_prefix="QTYFD",
        fields=_upper({"FBillTypeID": "单据类型", "FBillNo": "单据编号", "FDATE": "业务日期", "FENDDATE_H": "到期日",
                       "FCONTACTUNITTYPE": "往来单位类型", "FCONTACTUNIT": "往来单位", "FCURRENCYID": "币别",
                       "FSETTLEORGID": "结算组织", "FPAYORGID": "付款组织", "FDEPARTMENTID": "申请部门",
                       "FTOTALAMOUNTFOR_H": "总金额", "FREMARK": "备注", "FTHIRDBILLNO": "第三方单据编号"}),
        references=_upper({"FBillTypeID": "BOS_BillType", "FCURRENCYID": CURRENCY, "FSETTLEORGID": ORG,
                           "FPAYORGID": ORG, "FDEPARTMENTID": DEPT, "FCONTACTUNIT": ""}),
        entities=[Entity("FEntity", "明细", _upper({
            "FEntryID": "分录内码", "FCOSTID": "费用项目", "FCOSTDEPARTMENTID": "费用承担部门",
            "FTOTALAMOUNTFOR": "总金额", "FNOTAXAMOUNTFOR": "不含税金额", "FCOMMENT": "备注"}),
            _upper({"FCOSTID": "BD_Expense", "FCOSTDEPARTMENTID": DEPT}))],
        dates=("FDATE", "FENDDATE_H"), amounts=("FTOTALAMOUNTFOR_H", "FTOTALAMOUNTFOR", "FNOTAXAMOUNTFOR"),
    )
    return [
        voucher, other_payable,
        _basedata("BD_AccountBook", "账簿", "FBOOKID", {"FACCTTABLEID": "科目表", "FCURRENCYID": "记账本位币",
                                                      "FBOOKTYPE": "账簿类型", "FPeriodid": "会计日历"}),
        _basedata("BD_Account", "科目", "FACCTID", {"FIsDetail": "明细科目", "FDC": "余额方向",
                                                   "FFlexItems": "核算维度"}),
        _basedata("BD_VoucherGroup", "凭证字", "FVCHGROUPID", {}),
        Form("BOS_Attachment", "附件", kind="readonly", number_key="FFileId",
             fields=_upper({"FFileId": "文件编码", "FAttachmentName": "附件名", "FBillType": "业务对象",
                            "FInterID": "单据内码", "FBillNo": "单据编号", "FAttachmentSize": "大小(KB)",
                            "FExtName": "扩展名", "FEntryinterId": "分录内码", "FEntrykey": "单据体标识",
                            "FaliasFileName": "别名", "FCreateTime": "创建时间"})),
    ]


import base64  # noqa: E402  (forms() above must exist before metadata, imported below, asks for it)
import json  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402
from datetime import date  # noqa: E402
from decimal import Decimal, InvalidOperation  # noqa: E402

from django.db import transaction  # noqa: E402
from django.http import HttpResponseNotAllowed, JsonResponse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from sandbox.kingdee.models import FormRecord, Sequence  # noqa: E402
from sandbox.kingdee.wire import failure, get, status  # noqa: E402

MODULES = {"GL": "总账", "AP": "应付"}
PERIOD_FORM = "SANDBOX_Period"  # one record per module: {"closed_through": "YYYY-MM"} (the sandbox's own store)
BILL_MODULES = {"GL_VOUCHER": "GL", "AP_PAYBILL": "AP", "AP_OTHERPAYABLE": "AP", "AP_PAYABLE": "AP"}
AP_REFUSAL = "业务日期({date})早于应付当前期间({year}年第{period}期)，不允许保存！"
GL_REFUSAL = "凭证日期({date})所在期间({year}年第{period}期)已结账，不能保存！"
UNBALANCED = "凭证借贷不平衡：借方合计{debit}，贷方合计{credit}，借贷方金额不相等！"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # per call (round 2 §10: ~5 MB advised; the tenant's limit is a setting)
UPLOAD_REQUIRED = ("FileName", "FormId", "IsLast", "InterId", "BillNO")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# ---- periods --------------------------------------------------------------------------------


def closed_through(module):
    record = FormRecord.objects.filter(form_id=PERIOD_FORM, number=module).first()
    return (record.model or {}).get("closed_through", "") if record else ""


def set_closed_through(module, month):
    record = FormRecord.objects.filter(form_id=PERIOD_FORM, number=module).first()
    if record is None:
        record = FormRecord(form_id=PERIOD_FORM, number=module, name=MODULES[module],
                            fid=Sequence.next(f"{PERIOD_FORM}:fid", 0))
    record.model = {"closed_through": month}
    record.save()


def current_period(module):
    """(year, month) of the module's current (first open) period; None when no period is closed."""
    closed = closed_through(module)
    if not closed:
        return None
    year, month = (int(part) for part in closed.split("-"))
    return (year + 1, 1) if month == 12 else (year, month + 1)


def period_refusal(form_id, model):
    """The refusal text when the bill's date lies in a closed period of its module, else ""."""
    module = BILL_MODULES.get(form_id.upper())
    current = current_period(module) if module else None
    raw = str(get(model, "FDATE") or get(model, "FDate") or "")[:10]
    if current is None or not raw:
        return ""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return ""
    if (day.year, day.month) >= current:
        return ""
    if module == "GL":
        return GL_REFUSAL.format(date=raw, year=day.year, period=day.month)
    return AP_REFUSAL.format(date=raw, year=current[0], period=current[1])


@csrf_exempt
def periods(request):
    """GET: each module's closed-through month; POST {"module": "GL"|"AP", "closed_through": "YYYY-MM"|""}."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method == "POST":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "send a JSON object"}, status=400)
        module = str(body.get("module") or "").upper()
        month = str(body.get("closed_through") or "")
        if module not in MODULES or (month and not MONTH.match(month)):
            return JsonResponse({"error": 'send {"module": "GL"|"AP", "closed_through": "YYYY-MM"}'}, status=400)
        set_closed_through(module, month)
    return JsonResponse({module: {"closed_through": closed_through(module),
                                  "current_period": "%04d-%02d" % current if (current := current_period(module))
                                  else ""} for module in MODULES})


# ---- save rules (called by the Checker) -----------------------------------------------------


def rules(checker):
    """Voucher balance and numbering; the module period of AP bills and vouchers."""
    from sandbox.kingdee.validation import Problem

    form_id = checker.form.form_id.upper()
    if form_id == "GL_VOUCHER":
        _voucher_rules(checker, Problem)
    if checker.problems:
        return
    refusal = period_refusal(form_id, checker.model)
    if refusal:
        checker.problems.append(Problem("FDATE", refusal, 11))
    elif form_id == "GL_VOUCHER":
        _number_voucher(checker.model)


def _amount(value):
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)


def _voucher_rules(checker, Problem):
    model = checker.model
    rows = get(model, "FEntity")
    rows = [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
    if len(rows) < 2:
        checker.problems.append(Problem("FEntity", "凭证至少需要两行分录！"))
        return
    for index, row in enumerate(rows, start=1):
        if not get(row, "FACCOUNTID"):
            checker.problems.append(Problem("FACCOUNTID", f"第{index}行分录：【科目编码】字段必录"))
        account = _account(get(row, "FACCOUNTID"))
        if account is not None and str((account.model or {}).get("FIsDetail", True)).lower() in ("false", "0"):
            checker.problems.append(Problem("FACCOUNTID", f"第{index}行分录：科目（{account.number}-{account.name}）"
                                                          f"不是明细科目，不能录入凭证！"))
    debit = sum((_amount(get(row, "FDEBIT")) for row in rows), Decimal(0))
    credit = sum((_amount(get(row, "FCREDIT")) for row in rows), Decimal(0))
    if debit != credit:
        checker.problems.append(Problem("FEntity", UNBALANCED.format(debit=debit, credit=credit)))
    model["FDEBITTOTAL"], model["FCREDITTOTAL"] = float(debit), float(credit)


def _account(reference):
    number = reference.get("FNumber") if isinstance(reference, dict) else reference
    return FormRecord.objects.filter(form_id="BD_Account", number=str(number or "")).first() if number else None


def _number_voucher(model):
    """凭证号: next per book, year, period and 凭证字 (empty in the package ⇒ numbered here)."""
    if get(model, "FVOUCHERGROUPNO"):
        return
    day = date.fromisoformat(str(get(model, "FDate") or get(model, "FDATE"))[:10])
    book = get(model, "FAccountBookID")
    group = get(model, "FVOUCHERGROUPID")
    book = book.get("FNumber") if isinstance(book, dict) else book
    group = group.get("FNumber") if isinstance(group, dict) else group
    model["FYEAR"], model["FPERIOD"] = day.year, day.month
    model["FVOUCHERGROUPNO"] = Sequence.next(f"GL_VOUCHER:no:{book}:{day.year}:{day.month}:{group}", 0)


# ---- attachments ------------------------------------------------------------------------------


def _data(call):
    data = call.data()
    return data if isinstance(data, dict) else {}


def _upload_result(file_id, msg_code=0, errors=()):
    return {"Result": {"ResponseStatus": status(errors, msg_code=msg_code) if errors else status(),
                       "FileId": file_id, "Message": ""}}


def _chunk(data):
    """Decoded bytes of SendByte, or a refusal payload."""
    try:
        content = base64.b64decode(str(get(data, "SendByte") or ""), validate=True)
    except ValueError:
        return None, failure("SendByte 不是有效的Base64字符串", 11)
    if len(content) > MAX_UPLOAD_BYTES:
        return None, failure(f"上传文件超过单次上传限制({MAX_UPLOAD_BYTES // 1024 // 1024}MB)，请分块上传", 11)
    return content, None


def _missing(data, keys):
    for key in keys:
        if get(data, key) in (None, ""):
            return failure(f"data数据包中的参数 {key} 必传", 11)
    return None


def _is_last(data):
    return str(get(data, "IsLast")).lower() in ("true", "1")


@transaction.atomic
def _append(data, content, bind):
    """Chunk 1 starts a file (a new FileId), later chunks name it; the last one commits it."""
    file_id = str(get(data, "FileId") or "")
    record = FormRecord.objects.select_for_update().filter(form_id="BOS_Attachment", number=file_id).first() \
        if file_id else None
    if file_id and record is None:
        return None, failure(f"数据库文件信息表中不存在编码为 {file_id} 的文件信息", 11)
    if record is None:
        file_id = uuid.uuid4().hex
        record = FormRecord(form_id="BOS_Attachment", number=file_id, fid=Sequence.next("BOS_Attachment:fid", 100000),
                            model={"FFileId": file_id, "content": "", "committed": False})
    model = record.model
    model["content"] = base64.b64encode(base64.b64decode(model.get("content") or "") + content).decode()
    name = str(get(data, "FileName") or model.get("FAttachmentName") or "")
    model.update(FAttachmentName=name, FExtName=("." + name.rsplit(".", 1)[-1]) if "." in name else "")
    if bind:
        model.update(FBillType=str(get(data, "FormId")), FInterID=str(get(data, "InterId")),
                     FBillNo=str(get(data, "BillNO")), FaliasFileName=str(get(data, "AliasFileName") or ""),
                     FEntrykey=str(get(data, "Entrykey") or " "), FEntryinterId=str(get(data, "EntryInterId") or -1))
    if _is_last(data):  # IsLast omitted ⇒ false ⇒ nothing committed, yet the answer is a success (§8.2)
        model["committed"] = True
        model["FAttachmentSize"] = round(len(base64.b64decode(model["content"])) / 1024, 2)
        model["FCreateTime"] = timezone.now().isoformat(timespec="seconds")
    record.name = name[:200]
    record.model = model
    record.save()
    return file_id, None


def attachment_upload(call):
    data = _data(call)
    refusal = _missing(data, UPLOAD_REQUIRED)
    if refusal is None and not get(data, "FileId"):
        refusal = _missing(data, ("SendByte",))
    if refusal is None and bool(get(data, "Entrykey")) != bool(get(data, "EntryInterId")):
        refusal = failure("Entrykey 与 EntryInterId 必须同时传入", 11)
    if refusal is None:
        bill = FormRecord.objects.filter(form_id__iexact=str(get(data, "FormId")),
                                         fid=_int(get(data, "InterId"))).first()
        if bill is None:
            refusal = failure(f"单据内码为 {get(data, 'InterId')} 的单据不存在！", 11)
    content, bad = (None, refusal) if refusal else _chunk(data)
    if bad:
        return bad
    file_id, bad = _append(data, content, bind=True)
    return bad or _upload_result(file_id)


def upload_file(call):
    data = _data(call)
    refusal = _missing(data, ("FileName", "SendByte"))
    content, bad = (None, refusal) if refusal else _chunk(data)
    if bad:
        return bad
    file_id, bad = _append(data, content, bind=False)
    return bad or _upload_result(file_id)


def attachment_download(call):
    data = _data(call)
    file_id = str(get(data, "FileId") or get(data, "FileID") or "")
    record = FormRecord.objects.filter(form_id="BOS_Attachment", number=file_id).first() if file_id else None
    if record is None or not record.model.get("committed"):
        return failure(f"数据库文件信息表中不存在编码为 {file_id} 的文件信息", 11)
    content = record.model.get("content") or ""
    return {"Result": {"ResponseStatus": status(), "FilePart": content, "FileName": record.model["FAttachmentName"],
                       "FileSize": len(base64.b64decode(content)), "IsLast": True, "StartIndex": 0}}


def attachments_of(form_id, bill_id):
    """Committed attachments bound to one bill (for tests and the debug API)."""
    return [record.model for record in FormRecord.objects.filter(form_id="BOS_Attachment")
            if record.model.get("committed") and record.model.get("FBillType", "").upper() == form_id.upper()
            and str(record.model.get("FInterID")) == str(bill_id)]


def refuses_query(form_id):
    """BOS_Attachment is not a queryable object (§8.2)."""
    if str(form_id or "").upper() == "BOS_ATTACHMENT":
        return failure("数据库执行异常，请联系系统管理员", 6)
    return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


HANDLERS = {"attachmentupload": attachment_upload, "uploadfile": upload_file,
            "attachmentdownload": attachment_download}
PARAMS = {name: ["data"] for name in HANDLERS}


# ---- seed ---------------------------------------------------------------------------------------

# 费用明细 → 管理费用 sub-accounts (detail accounts of the book's chart), and the credit side's accounts.
EXPENSE_ACCOUNTS = [("6602.01", "管理费用-办公费"), ("6602.02", "管理费用-差旅费"), ("6602.03", "管理费用-业务招待费"),
                    ("6602.04", "管理费用-通讯费"), ("6602.05", "管理费用-培训费"), ("6602.06", "管理费用-会议费"),
                    ("6601.01", "销售费用-市场推广费"), ("6602.08", "管理费用-快递费"), ("6602.09", "管理费用-加班餐费"),
                    ("6602.11", "管理费用-交通费")]
OTHER_ACCOUNTS = [("2241.01", "其他应付款-员工"), ("1002", "银行存款"), ("1221.01", "其他应收款-员工借款")]
PARENT_ACCOUNTS = [("6602", "管理费用"), ("6601", "销售费用"), ("2241", "其他应付款"), ("1221", "其他应收款")]


def seed(upsert):
    """The book, 凭证字 and chart of accounts the voucher template names (called by `seed._seed_base_data`)."""
    upsert("BD_AccountBook", "001", "星河智造主账簿", {"FBOOKTYPE": "主账簿", "FCURRENCYID": {"FNumber": "PRE001"}})
    upsert("BD_VoucherGroup", "PRE001", "记")
    for number, name in PARENT_ACCOUNTS:
        upsert("BD_Account", number, name, {"FIsDetail": False})
    for number, name in EXPENSE_ACCOUNTS + OTHER_ACCOUNTS:
        upsert("BD_Account", number, name, {"FIsDetail": True})
    upsert("BOS_BillType", "QTYFD01_SYS", "标准其他应付单", {"FBillFormID": "AP_OtherPayable"})
