"""Sales orders, purchase receipts and direct transfers (round 2 §6), and a customer's attendance summary form.

Keys as the reference gives them (SAL_SaleOrder `FSaleOrderEntry`, STK_InStock `FInStockEntry`,
STK_TransferDirect `FBillEntry`); base data must exist, be audited and not forbidden; the bill type must belong
to the form. `F_PORTAL_SourceId` is the custom text field (added in BOS, round 1 §9.3) that carries the source
key of an integration. `PAEZ_AttendanceSummary` stands for the form a customer's HR keeps monthly attendance in
(Kingdee has no standard one): one bill per employee and period, leave by type in an entry.
"""

from sandbox.kingdee.metadata import CURRENCY, DEPT, ORG, Entity, Form, _upper
from sandbox.kingdee.models import FormRecord
from sandbox.kingdee.validation import Problem, reference_number, required_problem
from sandbox.kingdee.wire import get

SOURCE_FIELD = "F_PORTAL_SourceId"
MATERIAL, UNIT, STOCK = "BD_MATERIAL", "BD_UNIT", "BD_STOCK"
BILL_TYPES = [("XSDD01_SYS", "标准销售订单", "SAL_SaleOrder"), ("RKD01_SYS", "标准采购入库", "STK_InStock"),
              ("ZJDB01_SYS", "标准直接调拨单", "STK_TransferDirect"), ("KQHZ01", "考勤月度汇总", "PAEZ_AttendanceSummary")]


def _present(part, key):
    return get(part, key) not in (None, "", {}, [])


def _rules(header, entity_key, entry_required, extra=None):
    """Required header fields, at least one row of `entity_key` with its required fields (an update by FID only
    checks what it sends); then `extra(checker)`, the form's own rule."""

    def check(checker):
        form, model, problems = checker.form, checker.model, checker.problems
        updating = str(get(model, form.pk) or "0").strip() not in ("", "0")
        problems.extend(required_problem(form, key) for key in header
                        if not _present(model, key) and (not updating or get(model, key) is not None))
        rows = get(model, entity_key) if entity_key else None
        if entity_key and (not updating or rows is not None):
            if not isinstance(rows, list) or not rows:
                entity = form.entity(entity_key)
                problems.append(Problem(entity.key, f"单据体“{entity.caption}”({entity.key})至少需要录入一行分录！"))
            else:
                for index, row in enumerate(rows, start=1):
                    if isinstance(row, dict):
                        problems.extend(required_problem(form, key, index) for key in entry_required
                                        if not _present(row, key))
        if extra and not problems:
            extra(checker)

    return check


def _transfer_rule(checker):
    for index, row in enumerate(get(checker.model, "FBillEntry") or [], start=1):
        source, target = get(row, "FSrcStockId"), get(row, "FDestStockId")
        if isinstance(source, dict) and source == target:
            checker.problems.append(Problem("FDestStockId", f"第{index}行分录，调出仓库与调入仓库不能相同！"))


def _attendance_rule(checker):
    """One summary per employee and period: a second one is refused (an update by FID is not)."""
    model, form = checker.model, checker.form
    employee, period = reference_number(get(model, "FEmployeeId")), str(get(model, "FPeriod") or "")
    if not employee or not period:
        return
    own = str(get(model, form.pk) or "0")
    for record in FormRecord.objects.filter(form_id=form.form_id).exclude(fid=int(own) if own.isdigit() else 0):
        if reference_number(get(record.model, "FEmployeeId")) == employee and str(get(record.model, "FPeriod")) == period:
            checker.problems.append(Problem("FPeriod", f"员工“{employee}”在考勤期间“{period}”已有考勤月度汇总单"
                                                  f"（{record.number}），不能重复录入！"))
            return


SAL_SALEORDER = Form(
    "SAL_SaleOrder", "销售订单", number_prefix="XSDD",
    fields=_upper({"FBillTypeID": "单据类型", "FBillNo": "单据编号", "FDate": "日期", "FSaleOrgId": "销售组织",
                   "FCustId": "客户", "FReceiveId": "收货方", "FSettleId": "结算方", "FChargeId": "付款方",
                   "FSaleDeptId": "销售部门", "FSaleGroupId": "销售组", "FSalerId": "销售员", "FBusinessType": "业务类型",
                   "FHeadDeliveryWay": "交货方式", "FNote": "备注", "FSaleOrderFinance": "财务信息",
                   SOURCE_FIELD: "集成来源单号"}),
    references=_upper({"FBillTypeID": "BOS_BillType", "FSaleOrgId": ORG, "FCustId": "BD_Customer",
                       "FReceiveId": "BD_Customer", "FSettleId": "BD_Customer", "FChargeId": "BD_Customer",
                       "FSaleDeptId": DEPT}),
    entities=[Entity("FSaleOrderEntry", "订单明细", _upper({
        "FEntryID": "分录内码", "FSeq": "序号", "FRowType": "产品类型", "FMaterialId": "物料编码", "FUnitID": "销售单位",
        "FQty": "销售数量", "FPriceUnitId": "计价单位", "FPrice": "单价", "FTaxPrice": "含税单价", "FEntryTaxRate": "税率%",
        "FIsFree": "是否赠品", "FDeliveryDate": "要货日期", "FStockOrgId": "库存组织", "FSettleOrgIds": "结算组织",
        "FSupplyOrgId": "供应组织", "FOwnerTypeId": "货主类型", "FOwnerId": "货主", "FEntryNote": "备注"}),
        _upper({"FMaterialId": MATERIAL, "FUnitID": UNIT, "FPriceUnitId": UNIT, "FStockOrgId": ORG,
                "FSettleOrgIds": ORG, "FSupplyOrgId": ORG, "FOwnerId": ORG})),
              # 交货明细: the sub-entity inside each order row (round 2 §6.1 "FOrderEntryPlan[] inside entries").
              Entity("FOrderEntryPlan", "交货明细", _upper({"FDetailID": "子分录内码", "FSeq": "序号", "FPlanDate": "要货日期",
                                                        "FPlanQty": "数量", "FPlanNote": "备注"}),
                     parent="FSaleOrderEntry")],
    dates=("FDATE", "FDELIVERYDATE", "FPLANDATE"), amounts=("FQTY", "FPRICE", "FTAXPRICE", "FENTRYTAXRATE", "FPLANQTY"),
)
SAL_SALEORDER.rules = _rules(("FBillTypeID", "FDate", "FSaleOrgId", "FCustId"), "FSaleOrderEntry",
                             ("FMaterialId", "FUnitID", "FQty"))

STK_INSTOCK = Form(
    "STK_InStock", "采购入库单", number_prefix="CGRK",
    fields=_upper({"FBillTypeID": "单据类型", "FBillNo": "单据编号", "FBusinessType": "业务类型", "FDate": "入库日期",
                   "FStockOrgId": "收料组织", "FPurchaseOrgId": "采购组织", "FDemandOrgId": "需求组织",
                   "FSupplierId": "供应商", "FSupplyId": "供货方", "FSettleId": "结算方", "FChargeId": "收款方",
                   "FOwnerTypeIdHead": "货主类型", "FOwnerIdHead": "货主", "FStockDeptId": "收料部门",
                   "FStockerId": "仓管员", "FNote": "备注", "FInStockFin": "财务信息", SOURCE_FIELD: "集成来源单号"}),
    references=_upper({"FBillTypeID": "BOS_BillType", "FStockOrgId": ORG, "FPurchaseOrgId": ORG,
                       "FDemandOrgId": ORG, "FSupplierId": "BD_Supplier", "FSupplyId": "BD_Supplier",
                       "FSettleId": "BD_Supplier", "FChargeId": "BD_Supplier", "FOwnerIdHead": ORG,
                       "FStockDeptId": DEPT}),
    entities=[Entity("FInStockEntry", "明细信息", _upper({
        "FEntryID": "分录内码", "FSeq": "序号", "FRowType": "产品类型", "FMaterialId": "物料编码", "FUnitID": "库存单位",
        "FRealQty": "实收数量", "FPriceUnitID": "计价单位", "FPrice": "单价", "FTaxPrice": "含税单价",
        "FEntryTaxRate": "税率%", "FStockId": "仓库", "FStockLocId": "仓位", "FStockStatusId": "库存状态", "FLot": "批号",
        "FOWNERTYPEID": "货主类型", "FOWNERID": "货主", "FGiveAway": "赠品", "FNote": "备注"}),
        _upper({"FMaterialId": MATERIAL, "FUnitID": UNIT, "FPriceUnitID": UNIT, "FStockId": STOCK,
                "FStockStatusId": "BD_StockStatus", "FOWNERID": ORG}))],
    dates=("FDATE",), amounts=("FREALQTY", "FPRICE", "FTAXPRICE", "FENTRYTAXRATE"),
)
STK_INSTOCK.rules = _rules(("FBillTypeID", "FDate", "FStockOrgId", "FSupplierId", "FOwnerIdHead"), "FInStockEntry",
                           ("FMaterialId", "FUnitID", "FRealQty", "FStockId"))

STK_TRANSFERDIRECT = Form(
    "STK_TransferDirect", "直接调拨单", number_prefix="ZJDB",
    fields=_upper({"FBillTypeID": "单据类型", "FBillNo": "单据编号", "FDate": "日期", "FTransferDirect": "调拨方向",
                   "FBizType": "业务类型", "FTransferBizType": "调拨类型", "FStockOutOrgId": "调出库存组织",
                   "FStockOrgId": "调入库存组织", "FOwnerTypeOutIdHead": "调出货主类型", "FOwnerOutIdHead": "调出货主",
                   "FOwnerTypeIdHead": "调入货主类型", "FOwnerIdHead": "调入货主", "FNote": "备注",
                   SOURCE_FIELD: "集成来源单号"}),
    references=_upper({"FBillTypeID": "BOS_BillType", "FStockOutOrgId": ORG, "FStockOrgId": ORG,
                       "FOwnerOutIdHead": ORG, "FOwnerIdHead": ORG}),
    entities=[Entity("FBillEntry", "明细信息", _upper({
        "FEntryID": "分录内码", "FSeq": "序号", "FMaterialId": "物料编码", "FUnitID": "单位", "FBaseUnitId": "基本单位",
        "FQty": "调拨数量", "FBaseQty": "基本单位数量", "FSrcStockId": "调出仓库", "FDestStockId": "调入仓库",
        "FLot": "调出批号", "FDestLot": "调入批号", "FOwnerTypeOutId": "调出货主类型", "FOwnerOutId": "调出货主",
        "FOwnerTypeId": "调入货主类型", "FOwnerId": "调入货主", "FKeeperTypeOutId": "调出保管者类型",
        "FKeeperOutId": "调出保管者", "FKeeperTypeId": "调入保管者类型", "FKeeperId": "调入保管者",
        "FNoteEntry": "备注"}),
        _upper({"FMaterialId": MATERIAL, "FUnitID": UNIT, "FBaseUnitId": UNIT, "FSrcStockId": STOCK,
                "FDestStockId": STOCK, "FOwnerOutId": ORG, "FOwnerId": ORG, "FKeeperOutId": ORG, "FKeeperId": ORG}))],
    dates=("FDATE",), amounts=("FQTY", "FBASEQTY"),
)
STK_TRANSFERDIRECT.rules = _rules(("FBillTypeID", "FDate", "FStockOutOrgId", "FStockOrgId"), "FBillEntry",
                                  ("FMaterialId", "FUnitID", "FQty", "FSrcStockId", "FDestStockId"), _transfer_rule)

ATTENDANCE = Form(
    "PAEZ_AttendanceSummary", "考勤月度汇总", number_prefix="KQHZ", number_digits=6,
    fields=_upper({"FBillTypeID": "单据类型", "FBillNo": "单据编号", "FDate": "汇总日期", "FOrgId": "组织",
                   "FPeriod": "考勤期间", "FEmployeeId": "员工", "FDeptId": "部门", "FShouldDays": "应出勤天数",
                   "FActualDays": "实际出勤天数", "FRestDays": "休息天数", "FLateTimes": "迟到次数",
                   "FLateMinutes": "迟到分钟数", "FEarlyTimes": "早退次数", "FAbsentDays": "旷工天数",
                   "FOvertimeHours": "加班小时数", "FLeaveDays": "请假合计(天)", "FRemark": "备注",
                   SOURCE_FIELD: "集成来源单号"}),
    references=_upper({"FBillTypeID": "BOS_BillType", "FOrgId": ORG, "FEmployeeId": "BD_Empinfo", "FDeptId": DEPT}),
    entities=[Entity("FLeaveEntity", "请假明细", _upper({"FEntryID": "分录内码", "FSeq": "序号", "FLeaveType": "假期类型",
                                                     "FLeaveDays": "请假天数"}))],
    dates=("FDATE",),
    amounts=("FSHOULDDAYS", "FACTUALDAYS", "FRESTDAYS", "FLATETIMES", "FLATEMINUTES", "FEARLYTIMES", "FABSENTDAYS",
             "FOVERTIMEHOURS", "FLEAVEDAYS"),
)
# The leave entry may be empty (a month without leave): only the header is required.
ATTENDANCE.rules = _rules(("FDate", "FPeriod", "FEmployeeId"), "", (), _attendance_rule)

BY_ID = {form.form_id.upper(): form for form in (SAL_SALEORDER, STK_INSTOCK, STK_TRANSFERDIRECT, ATTENDANCE)}


def seed_forms(upsert):
    """The bill types of these forms (the other base data is seeded by `trade` and `seed`)."""
    for number, name, form_id in BILL_TYPES:
        upsert("BOS_BillType", number, name, {"FBillFormID": form_id})
