"""What the sandbox knows about Kingdee forms: keys, captions, references and rules.

Field keys are matched case-insensitively, as Kingdee does; everything here is keyed
by the upper-case key. A form not listed still works as a generic bill.
"""

from dataclasses import dataclass, field

# Contact-unit types whose number is looked up in the form they name (reference §7.2).
CONTACT_UNIT_TYPES = ("BD_Supplier", "BD_Customer", "BD_Department", "BD_Empinfo", "FIN_OTHERS")
DYNAMIC_TYPE = {"FCONTACTUNIT": "FCONTACTUNITTYPE", "FRECTUNIT": "FRECTUNITTYPE"}
# Settle types of these categories move money through our bank account (BD_SETTLETYPE.FType).
BANK_SETTLE_CATEGORIES = ("2", "3")


@dataclass
class Entity:
    key: str
    caption: str
    fields: dict  # upper key → caption
    references: dict = field(default_factory=dict)  # upper key → lookup form id
    parent: str = ""  # a sub-entity (子单据体): its rows sit inside each row of this entity, keyed FDetailID

    def rows(self, model):
        """The entity's row dicts in a model; a sub-entity's are gathered from every row of its parent."""
        from sandbox.kingdee.wire import get

        parents = [model] if not self.parent else [row for row in _as_rows(get(model, self.parent))]
        return [row for part in parents for row in _as_rows(get(part, self.key))]


def _as_rows(value):
    value = [value] if isinstance(value, dict) else value
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


@dataclass
class Form:
    form_id: str
    caption: str
    kind: str = "bill"  # bill | basedata | readonly
    pk: str = "FID"
    number_key: str = "FBillNo"
    number_prefix: str = ""
    number_digits: int = 8
    fields: dict = field(default_factory=dict)  # header: upper key → caption
    references: dict = field(default_factory=dict)  # header: upper key → lookup form id ("" = dynamic)
    entities: list = field(default_factory=list)
    dates: tuple = ()
    amounts: tuple = ()

    @property
    def is_bill(self):
        return self.kind == "bill"

    def caption_of(self, key):
        upper = key.upper()
        for entity in self.entities:
            if upper in entity.fields:
                return entity.fields[upper]
        return self.fields.get(upper, key)

    def entity(self, key):
        upper = key.upper()
        return next((e for e in self.entities if e.key.upper() == upper), None)

    def entity_of_field(self, key):
        upper = key.upper()
        return next((e for e in self.entities if upper in e.fields or upper == f"{e.key.upper()}_FENTRYID"), None)

    def standard_keys(self):
        return {self.pk.upper(), "FID", self.number_key.upper(), "FNUMBER", "FBILLNO", "FNAME", "FDOCUMENTSTATUS",
                "FFORBIDSTATUS", "FCREATEDATE", "FMODIFYDATE"}


# Upper-case key → the key as Kingdee spells it, for FieldName in messages.
CANONICAL = {}


def _upper(mapping):
    for key in mapping:
        CANONICAL.setdefault(key.upper(), key)
    return {key.upper(): value for key, value in mapping.items()}


def canonical(key):
    return CANONICAL.get(key.upper(), key)


ORG = "ORG_Organizations"
DEPT = "BD_Department"
CURRENCY = "BD_Currency"

_PAYBILL_HEADER = {
    "FBillTypeID": "单据类型", "FBillNo": "单据编号", "FDATE": "业务日期", "FCONTACTUNITTYPE": "往来单位类型",
    "FCONTACTUNIT": "往来单位", "FRECTUNITTYPE": "收款单位类型", "FRECTUNIT": "收款单位", "FCURRENCYID": "币别",
    "FSETTLECUR": "结算币别", "FSETTLEMAINBOOKID": "结算本位币", "FPAYORGID": "付款组织", "FSETTLEORGID": "结算组织",
    "FDepartment": "部门", "FPURCHASEORGID": "采购组织", "FPURCHASEDEPTID": "采购部门", "FREMARK": "备注",
    "FTHIRDBILLNO": "第三方单据编号", "FEXCHANGERATE": "汇率", "FSETTLERATE": "结算汇率", "FBUSINESSTYPE": "业务类型",
    "FCancelStatus": "作废状态", "FBookingDate": "期望付款日期", "FPAYAMOUNTFOR": "付款金额",
    "FREALPAYAMOUNTFOR": "实付金额", "FISINIT": "期初单据", "FISSAMEORG": "同一业务组织", "FREALPAY": "实报实付",
    "FSourceBillNumber": "来源票据号", "FWBSETTLENO": "流水号", "FApproveDate": "审核日期",
}
_PAYBILL_ENTRY = {
    "FEntryID": "分录内码", "FSeq": "序号", "FSETTLETYPEID": "结算方式", "FPURPOSEID": "付款用途",
    "FPAYTOTALAMOUNTFOR": "应付金额", "FPAYAMOUNTFOR_E": "付款金额", "FPAYAMOUNT_E": "付款金额本位币",
    "FSETTLEPAYAMOUNTFOR": "折后金额", "FSETTLEDISTAMOUNTFOR": "现金折扣", "FHANDLINGCHARGEFOR": "手续费",
    "FOVERSHORTAGEFOR": "长短款", "FACCOUNTID": "我方银行账号", "FCashAccount": "现金账号",
    "FOPPOSITEBANKACCOUNT": "对方银行账号", "FOPPOSITECCOUNTNAME": "对方账户名称", "FOPPOSITEBANKNAME": "对方开户行",
    "FCNAPS": "联行号", "FCOMMENT": "备注", "FCOSTID": "费用项目", "FEXPENSEDEPTID_E": "费用承担部门",
    "FEXPENSEDEPTID": "费用承担部门", "FPOSTDATE": "登账日期", "FRecType": "收款类型", "FRuZhangType": "入账类型",
    "FPayType": "支付类型",
}

AP_PAYBILL = Form(
    "AP_PAYBILL", "付款单", number_prefix="FKD",
    fields=_upper(_PAYBILL_HEADER),
    references=_upper({
        "FBillTypeID": "BOS_BillType", "FCURRENCYID": CURRENCY, "FSETTLECUR": CURRENCY, "FSETTLEMAINBOOKID": CURRENCY,
        "FPAYORGID": ORG, "FSETTLEORGID": ORG, "FPURCHASEORGID": ORG, "FDepartment": DEPT, "FPURCHASEDEPTID": DEPT,
        "FCONTACTUNIT": "", "FRECTUNIT": "",
    }),
    entities=[Entity("FPAYBILLENTRY", "付款单明细", _upper(_PAYBILL_ENTRY), _upper({
        "FSETTLETYPEID": "BD_SETTLETYPE", "FPURPOSEID": "CN_RECPAYPURPOSE", "FACCOUNTID": "CN_BANKACNT",
        "FCOSTID": "BD_Expense", "FEXPENSEDEPTID_E": DEPT, "FEXPENSEDEPTID": DEPT,
    }))],
    dates=("FDATE", "FBOOKINGDATE", "FAPPROVEDATE", "FPOSTDATE"),
    amounts=("FPAYTOTALAMOUNTFOR", "FPAYAMOUNTFOR_E", "FPAYAMOUNT_E", "FSETTLEPAYAMOUNTFOR", "FSETTLEDISTAMOUNTFOR",
             "FHANDLINGCHARGEFOR", "FOVERSHORTAGEFOR", "FEXCHANGERATE", "FSETTLERATE", "FPAYAMOUNTFOR",
             "FREALPAYAMOUNTFOR"),
)

_ORG_FIELDS = {"FCreateOrgId": "创建组织", "FUseOrgId": "使用组织"}
_ORG_REFS = {"FCreateOrgId": ORG, "FUseOrgId": ORG}


def _basedata(form_id, caption, pk, fields, references=None, prefix="", digits=6, number_key="FNumber", **extra):
    return Form(form_id, caption, kind="basedata", pk=pk, number_key=number_key, number_prefix=prefix,
                number_digits=digits, fields=_upper({"FNumber": "编码", "FName": "名称", **_ORG_FIELDS, **fields}),
                references=_upper({**_ORG_REFS, **(references or {})}), **extra)


BD_EMPINFO = _basedata(
    "BD_Empinfo", "员工", "FID", {"FStaffNumber": "员工编号", "FMobile": "移动电话", "FEmail": "电子邮箱",
                                 "FJoinDate": "入职日期", "FCreateSaler": "创建销售员", "FCreateUser": "创建用户",
                                 "FCreateCashier": "创建出纳"},
    prefix="YG", digits=4, number_key="FStaffNumber", dates=("FJOINDATE",),
    entities=[Entity("FPostEntity", "任岗信息", _upper({
        "FEntryID": "分录内码", "FWorkOrgId": "工作组织", "FPostDept": "所属部门", "FPost": "就任岗位",
        "FStaffStartDate": "任岗开始日期", "FIsFirstPost": "主任岗"}),
        _upper({"FWorkOrgId": ORG, "FPostDept": DEPT}))],
)
BD_DEPARTMENT = _basedata(
    "BD_Department", "部门", "FDEPTID", {"FFullName": "部门全称", "FHelpCode": "助记码", "FParentID": "上级部门",
                                       "FEffectDate": "生效日期", "FLapseDate": "失效日期", "FDeptProperty": "部门属性",
                                       "FDescription": "描述", "FIsDetailDpt": "明细部门"},
    {"FParentID": DEPT}, prefix="BM", dates=("FEFFECTDATE", "FLAPSEDATE"),
)
BD_CUSTOMER = _basedata(
    "BD_Customer", "客户", "FCUSTID", {"FShortName": "简称", "FCOUNTRY": "国家", "FADDRESS": "通讯地址", "FTEL": "联系电话",
                                      "FCustTypeId": "客户类别", "FTRADINGCURRID": "结算币别", "FSALDEPTID": "销售部门",
                                      "FSOCIALCRECODE": "统一社会信用代码",
                                      "FSELLER": "销售员", "FTAXREGISTERCODE": "纳税登记号", "FINVOICETITLE": "发票抬头"},
    {"FTRADINGCURRID": CURRENCY, "FSALDEPTID": DEPT, "FSELLER": "BD_Saler", "FCustTypeId": "BOS_ASSISTANTDATA_DETAIL"},
    prefix="CUST", digits=4,
)
BD_SUPPLIER = _basedata("BD_Supplier", "供应商", "FSupplierId", {"FShortName": "简称"}, prefix="VEN", digits=5)
STK_INVENTORY = Form(
    "STK_Inventory", "即时库存", kind="readonly", number_key="FID", number_prefix="INV",
    fields=_upper({
        "FMaterialId": "物料", "FStockId": "仓库", "FStockName": "仓库名称", "FStockOrgId": "库存组织", "FLot": "批号",
        "FStockStatusId": "库存状态", "FStockLocId": "仓位", "FAuxPropID": "辅助属性", "FBaseQty": "库存量(基本单位)",
        "FQty": "库存量(库存单位)", "FSecQty": "库存量(辅单位)", "FBaseAvbQty": "可用量(基本单位)", "FAvbQty": "可用量",
        "FSecAvbQty": "可用量(辅单位)", "FBaseLockQty": "锁库量(基本单位)", "FLockQty": "锁库量",
        "FBaseUnitId": "基本单位", "FStockUnitId": "库存单位", "FSecUnitId": "辅单位", "FOwnerTypeId": "货主类型",
        "FOwnerId": "货主", "FKeeperTypeId": "保管者类型", "FKeeperId": "保管者", "FProduceDate": "生产日期",
        "FExpiryDate": "有效期至", "FUpdateTime": "最后更新日期",
    }),
    references=_upper({"FMaterialId": "BD_MATERIAL", "FStockId": "BD_STOCK", "FStockOrgId": ORG,
                       "FBaseUnitId": "BD_UNIT", "FStockUnitId": "BD_UNIT", "FOwnerId": ORG, "FKeeperId": ORG,
                       "FStockStatusId": "BD_StockStatus"}),
    dates=("FPRODUCEDATE", "FEXPIRYDATE", "FUPDATETIME"),
    amounts=("FBASEQTY", "FQTY", "FSECQTY", "FBASEAVBQTY", "FAVBQTY", "FSECAVBQTY", "FBASELOCKQTY", "FLOCKQTY"),
)

LOOKUPS = [
    _basedata("BD_Currency", "币别", "FCURRENCYID", {"FCODE": "货币代码", "FSymbol": "符号", "FPRICEDIGITS": "单价精度"}),
    _basedata("BD_SETTLETYPE", "结算方式", "FID", {"FType": "结算方式类别"}),
    _basedata("CN_RECPAYPURPOSE", "收付款用途", "FID", {"FBizType": "业务类型"}),
    _basedata("CN_BANKACNT", "银行账号", "FBANKACNTID", {"FACNTNO": "账号", "FBANKNAME": "开户银行",
                                                    "FACNTNAME": "账户名称"}),
    _basedata("BD_Expense", "费用项目", "FEXPID", {"FDescription": "描述"}),
    _basedata("ORG_Organizations", "组织机构", "FORGID", {"FOrgFormID": "形态", "FDescription": "描述"}),
    _basedata("BOS_BillType", "单据类型", "FBILLTYPEID", {"FBillFormID": "业务对象"}),
    _basedata("BD_STOCK", "仓库", "FSTOCKID", {"FLocation": "仓库地址"}),
    _basedata("BD_UNIT", "计量单位", "FUNITID", {}),
    _basedata("BD_StockStatus", "库存状态", "FStockStatusId", {}),
    # A customer's 销售员 and 客户类别 (round 2 §4.1): the sandbox numbers a seller like the employee it stands for.
    _basedata("BD_Saler", "销售员", "FID", {"FStaffId": "员工"}),
    _basedata("BOS_ASSISTANTDATA_DETAIL", "辅助资料", "FEntryID", {"FId": "类别"}),
]

# Materials with the stock sub-header (SubHeadEntity1: safety stock per using organisation, round 2 §7.2) and the
# purchase sub-header's buyer; sales outbound, receipts and receivables that reports read (round 2 §6, §9).
BD_MATERIAL = _basedata(
    "BD_MATERIAL", "物料", "FMATERIALID", {
        "FSpecification": "规格型号", "FMaterialGroup": "物料分组", "FBaseUnitId": "基本单位",
        "FIsEnableSafeStock": "启用安全库存", "FSafeStock": "安全库存", "FIsEnableMinStock": "启用最小库存",
        "FMinStock": "最小库存", "FIsEnableMaxStock": "启用最大库存", "FMaxStock": "最大库存",
        "FIsEnableReOrder": "启用再订货点", "FReOrderGood": "再订货点", "FEconReOrderQty": "经济订货批量",
        "FPurchaserId": "采购员"},
    {"FBaseUnitId": "BD_UNIT", "FPurchaserId": "BD_Empinfo"}, prefix="WL",
    amounts=("FSAFESTOCK", "FMINSTOCK", "FMAXSTOCK", "FREORDERGOOD", "FECONREORDERQTY"),
)
SUB_HEADS = ("SubHeadEntity", "SubHeadEntity1", "SubHeadEntity2", "SubHeadEntity3", "SubHeadEntity4",
             "SubHeadEntity5")
SAL_OUTSTOCK = Form(
    "SAL_OUTSTOCK", "销售出库单", number_prefix="XSCKD",
    fields=_upper({"FBillTypeID": "单据类型", "FDate": "日期", "FSaleOrgId": "销售组织", "FStockOrgId": "发货组织",
                   "FCustomerID": "客户", "FSaleDeptID": "销售部门", "FSalesManID": "销售员", "FNote": "备注"}),
    references=_upper({"FBillTypeID": "BOS_BillType", "FSaleOrgId": ORG, "FStockOrgId": ORG,
                       "FCustomerID": "BD_Customer", "FSaleDeptID": DEPT, "FSalesManID": "BD_Empinfo"}),
    entities=[Entity("FEntity", "明细信息", _upper({
        "FEntryID": "分录内码", "FMaterialID": "物料编码", "FUnitID": "库存单位", "FRealQty": "实发数量",
        "FStockID": "仓库", "FTaxPrice": "含税单价", "FAmount": "金额", "FAllAmount": "价税合计"}),
        _upper({"FMaterialID": "BD_MATERIAL", "FUnitID": "BD_UNIT", "FStockID": "BD_STOCK"}))],
    dates=("FDATE",), amounts=("FREALQTY", "FTAXPRICE", "FAMOUNT", "FALLAMOUNT"),
)
AR_RECEIVEBILL = Form(
    "AR_RECEIVEBILL", "收款单", number_prefix="SKD",
    fields=_upper({"FBillTypeID": "单据类型", "FDATE": "业务日期", "FCONTACTUNITTYPE": "往来单位类型",
                   "FCONTACTUNIT": "往来单位", "FPAYUNITTYPE": "付款单位类型", "FPAYUNIT": "付款单位",
                   "FCURRENCYID": "币别", "FPAYORGID": "收款组织", "FSETTLEORGID": "结算组织", "FSALEORGID": "销售组织",
                   "FRECEIVEAMOUNTFOR_H": "应收金额", "FREALRECAMOUNTFOR": "实收金额", "FREMARK": "备注"}),
    references=_upper({"FBillTypeID": "BOS_BillType", "FCURRENCYID": CURRENCY, "FPAYORGID": ORG,
                       "FSETTLEORGID": ORG, "FSALEORGID": ORG, "FCONTACTUNIT": "", "FPAYUNIT": ""}),
    entities=[Entity("FRECEIVEBILLENTRY", "收款单明细", _upper({
        "FEntryID": "分录内码", "FSETTLETYPEID": "结算方式", "FPURPOSEID": "收款用途", "FRECTOTALAMOUNTFOR": "应收金额",
        "FRECAMOUNTFOR_E": "收款金额"}), _upper({"FSETTLETYPEID": "BD_SETTLETYPE", "FPURPOSEID": "CN_RECPAYPURPOSE"}))],
    dates=("FDATE",), amounts=("FRECEIVEAMOUNTFOR_H", "FREALRECAMOUNTFOR", "FRECTOTALAMOUNTFOR", "FRECAMOUNTFOR_E"),
)
AR_RECEIVABLE = Form(
    "AR_receivable", "应收单", number_prefix="AR",
    fields=_upper({"FBillTypeID": "单据类型", "FDATE": "业务日期", "FENDDATE_H": "到期日", "FCUSTOMERID": "客户",
                   "FCURRENCYID": "币别", "FSETTLEORGID": "结算组织", "FSALEORGID": "销售组织", "FSALEDEPTID": "销售部门",
                   "FSALEERID": "销售员", "FALLAMOUNTFOR": "价税合计", "FWRITTENOFFAMOUNTFOR": "已核销金额",
                   "FNORECEIVEAMOUNT": "未收款金额"}),
    references=_upper({"FBillTypeID": "BOS_BillType", "FCUSTOMERID": "BD_Customer", "FCURRENCYID": CURRENCY,
                       "FSETTLEORGID": ORG, "FSALEORGID": ORG, "FSALEDEPTID": DEPT, "FSALEERID": "BD_Empinfo"}),
    dates=("FDATE", "FENDDATE_H"), amounts=("FALLAMOUNTFOR", "FWRITTENOFFAMOUNTFOR", "FNORECEIVEAMOUNT"),
)

FORMS = {form.form_id.upper(): form for form in [AP_PAYBILL, BD_EMPINFO, BD_DEPARTMENT, BD_CUSTOMER, BD_SUPPLIER,
                                                 STK_INVENTORY, BD_MATERIAL, SAL_OUTSTOCK, AR_RECEIVEBILL,
                                                 AR_RECEIVABLE, *LOOKUPS]}
FORMS.update(__import__("sandbox.kingdee.forms_trade", fromlist=["BY_ID"]).BY_ID)  # sales, stock, attendance
FORMS.update({form.form_id.upper(): form for form in __import__("sandbox.kingdee.accounting", fromlist=["forms"]).forms()})
# SEC_User is answered from the user table, not from form records.
USER_FORM = "SEC_User"
USER = Form(USER_FORM, "用户", kind="readonly", pk="FUserID", number_key="FUserAccount", fields=_upper({
    "FUserID": "用户内码", "FName": "用户名称", "FUserAccount": "用户账号", "FPhone": "电话", "FEmail": "电子邮箱",
    "FDescription": "描述", "FStaffNumber": "员工编号"}))


def form_for(form_id):
    """The form's metadata; unknown forms are generic bills numbered after their id."""
    if (form_id or "").upper() == USER_FORM.upper():
        return USER
    known = FORMS.get((form_id or "").upper())
    if known:
        return known
    form_id = (form_id or "").upper()
    letters = "".join(c for c in form_id.split("_")[-1] if c.isalpha())[:4] or "BILL"
    return Form(form_id, form_id, number_prefix=letters)


def discover_entities(form, models):
    """For forms not described here: every list of objects in a model is an entity."""
    if form.form_id.upper() in FORMS or form.form_id == USER_FORM:
        return form
    found = {entity.key.upper(): entity for entity in form.entities}
    for model in models:
        for key, value in (model.items() if isinstance(model, dict) else []):
            if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
                entity = found.setdefault(key.upper(), Entity(key, key, {}))
                for row in value:
                    entity.fields.update({name.upper(): name for name in row})
    form.entities = list(found.values())
    return form
