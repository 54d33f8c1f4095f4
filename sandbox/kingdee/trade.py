"""Materials with safety stock, warehouses, on-hand stock, sales outbound, receipts and receivables.

What the reports, stock alerts and the inventory lookup read (round 2 §7, round 1 §7.7). Seeded
deterministically around today's date, so "yesterday" always has business; `set_stock` is the door
tests and demos use to move a quantity.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from sandbox import roster
from sandbox.kingdee import seed as base
from sandbox.kingdee.bills import ID_START
from sandbox.kingdee.models import FormRecord, Sequence

HANGZHOU_ORG = "101"
# (number, name, specification, group, safety stock, unit price)
MATERIALS = [
    ("1.01.001", "智能网关 X1", "X1-220V", "整机", 40, Decimal("1280.00")),
    ("1.01.002", "温湿度传感器 T3", "T3-485", "传感器", 120, Decimal("168.00")),
    ("1.01.003", "烟雾传感器 S2", "S2-无线", "传感器", 80, Decimal("215.00")),
    ("1.02.001", "工业平板 P10", "P10-10.1寸", "整机", 20, Decimal("3650.00")),
    ("1.02.002", "扫码枪 S5", "S5-USB", "外设", 60, Decimal("420.00")),
    ("1.02.003", "标签打印机 L8", "L8-热敏", "外设", 15, Decimal("1890.00")),
    ("2.01.001", "安装支架", "ZJ-40", "配件", 200, Decimal("35.00")),
    ("2.01.002", "电源适配器", "12V2A", "配件", 300, Decimal("28.50")),
    ("2.01.003", "网线 六类", "CAT6-3米", "配件", 500, Decimal("12.00")),
    ("2.02.001", "防水接线盒", "IP67-4路", "配件", 100, Decimal("46.00")),
]
# (number, name, organisation)
STOCKS = [("CK001", "上海总仓", roster.ORG_NUMBER), ("CK002", "杭州分仓", HANGZHOU_ORG),
          ("CK003", "售后备件仓", roster.ORG_NUMBER)]
ORGS = (roster.ORG_NUMBER, HANGZHOU_ORG)
STOCK_ORGS = {number: org for number, _name, org in STOCKS}
STOCK_NAMES = {number: name for number, name, _org in STOCKS}
SALES_DAYS = 35
RECEIVABLE_DAYS = 150


def seed_trade(rng, people):
    """Materials, warehouses and stock; bills of the last weeks. Idempotent for one day."""
    buyers = [p.job_number for p in people if p.active][:3] or [""]
    base.upsert("BD_UNIT", "Pcs", "件")
    base.upsert("BD_StockStatus", "KCZT01_SYS", "可用")
    base.upsert("BOS_BillType", "XSCKD01_SYS", "标准销售出库单", {"FBillFormID": "SAL_OUTSTOCK"})
    base.upsert("BOS_BillType", "SKDLX01_SYS", "销售收款单", {"FBillFormID": "AR_RECEIVEBILL"})
    base.upsert("BOS_BillType", "YSD01_SYS", "标准应收单", {"FBillFormID": "AR_receivable"})
    for index, (number, name, spec, group, safety, _price) in enumerate(MATERIALS):
        base.upsert("BD_MATERIAL", number, name, material_model(spec, group, safety, buyers[index % len(buyers)]))
    for number, name, org in STOCKS:
        base.upsert("BD_STOCK", number, name, {"FLocation": name, "FCreateOrgId": {"FNumber": org},
                                               "FUseOrgId": {"FNumber": org}})
    _seed_stock(rng)
    today = timezone.localdate()
    _seed_sales(rng, today)
    _seed_receipts(rng, today)
    _seed_receivables(rng, today)


def material_model(spec, group, safety, buyer=""):
    return {
        "FSpecification": spec, "FMaterialGroup": {"FNumber": group}, "FBaseUnitId": {"FNumber": "Pcs"},
        "FCreateOrgId": {"FNumber": roster.ORG_NUMBER}, "FUseOrgId": {"FNumber": roster.ORG_NUMBER},
        "SubHeadEntity1": {"FIsEnableSafeStock": bool(safety), "FSafeStock": safety, "FIsEnableMinStock": False,
                           "FMinStock": 0, "FIsEnableMaxStock": False, "FMaxStock": 0},
        "SubHeadEntity3": {"FPurchaserId": {"FStaffNumber": buyer} if buyer else None},
    }


def inventory_model(material, stock, qty, locked=0, moment=None):
    stock_name, org = STOCK_NAMES.get(stock, stock), STOCK_ORGS.get(stock, roster.ORG_NUMBER)
    locked = min(qty, locked) if qty > 0 else 0
    return {
        "FMaterialId": {"FNumber": material}, "FStockId": {"FNumber": stock}, "FStockName": stock_name,
        "FStockOrgId": {"FNumber": org}, "FStockStatusId": {"FNumber": "KCZT01_SYS"},
        "FBaseUnitId": {"FNumber": "Pcs"}, "FStockUnitId": {"FNumber": "Pcs"}, "FLot": {"FNumber": ""},
        "FBaseQty": qty, "FQty": qty, "FBaseLockQty": locked, "FLockQty": locked, "FBaseAvbQty": qty - locked,
        "FAvbQty": qty - locked, "FUpdateTime": (moment or timezone.localtime()).strftime("%Y-%m-%dT%H:%M:%S"),
        "FOwnerTypeId": "BD_OwnerOrg", "FOwnerId": {"FNumber": org}, "FKeeperTypeId": "BD_KeeperOrg",
        "FKeeperId": {"FNumber": org},
    }


def inventory_number(material, stock):
    """The sandbox's own number of an inventory row (Kingdee has none): material first, so that a query by
    material numbers is narrowed through the indexed number column."""
    return f"{material}|{stock}"


def _seed_stock(rng):
    FormRecord.objects.filter(form_id="STK_Inventory", number__startswith="INV").delete()  # older seeds' rows
    for index, (material, _name, _spec, _group, safety, _price) in enumerate(MATERIALS):
        for stock, _stock_name, _org in STOCKS[: 1 + index % len(STOCKS)]:
            # Every fourth material runs short; the others sit comfortably above their safety stock.
            qty = rng.randint(safety // 10, safety // 3) if index % 4 == 3 else rng.randint(safety, safety * 3)
            base.upsert("STK_Inventory", inventory_number(material, stock), "",
                        inventory_model(material, stock, qty, rng.randint(0, 5)))


def _bill(form_id, number, model):
    return base.upsert(form_id, number, "", model)


def _seed_sales(rng, today):
    customers = [f"CUST{i:04d}" for i in range(1, len(base.CUSTOMERS) + 1)]
    for days_ago in range(1, SALES_DAYS + 1):
        day = today - timedelta(days=days_ago)
        for index in range(1, rng.randint(2, 5) + 1):
            org = rng.choice(ORGS)
            stock = "CK002" if org == HANGZHOU_ORG else "CK001"
            entries = []
            for _line in range(rng.randint(1, 3)):
                number, _name, _spec, _group, _safety, price = rng.choice(MATERIALS)
                qty = rng.randint(1, 20)
                entries.append({"FMaterialID": {"FNumber": number}, "FUnitID": {"FNumber": "Pcs"}, "FRealQty": qty,
                                "FStockID": {"FNumber": stock}, "FTaxPrice": float(price),
                                "FAmount": float((price * qty / Decimal("1.13")).quantize(Decimal("0.01"))),
                                "FAllAmount": float(price * qty)})
            _bill("SAL_OUTSTOCK", f"XSCKD{day:%Y%m%d}{index:03d}", {
                "FBillTypeID": {"FNumber": "XSCKD01_SYS"}, "FDate": f"{day:%Y-%m-%d}T00:00:00",
                "FSaleOrgId": {"FNumber": org}, "FStockOrgId": {"FNumber": org},
                "FCustomerID": {"FNumber": rng.choice(customers)}, "FEntity": _numbered(entries)})


def _seed_receipts(rng, today):
    customers = [f"CUST{i:04d}" for i in range(1, len(base.CUSTOMERS) + 1)]
    for days_ago in range(1, SALES_DAYS + 1):
        day = today - timedelta(days=days_ago)
        for index in range(1, rng.randint(1, 3) + 1):
            org, customer = rng.choice(ORGS), rng.choice(customers)
            amount = Decimal(rng.randint(2000, 60000)).quantize(Decimal("0.01"))
            _bill("AR_RECEIVEBILL", f"SKD{day:%Y%m%d}{index:03d}", {
                "FBillTypeID": {"FNumber": "SKDLX01_SYS"}, "FDATE": f"{day:%Y-%m-%d}T00:00:00",
                "FCONTACTUNITTYPE": "BD_Customer", "FCONTACTUNIT": {"FNumber": customer},
                "FPAYUNITTYPE": "BD_Customer", "FPAYUNIT": {"FNumber": customer}, "FCURRENCYID": {"FNumber": "PRE001"},
                "FPAYORGID": {"FNumber": org}, "FSETTLEORGID": {"FNumber": org}, "FSALEORGID": {"FNumber": org},
                "FRECEIVEAMOUNTFOR_H": float(amount), "FREALRECAMOUNTFOR": float(amount),
                "FRECEIVEBILLENTRY": _numbered([{"FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                                                 "FRECTOTALAMOUNTFOR": float(amount),
                                                 "FRECAMOUNTFOR_E": float(amount)}])})


def _seed_receivables(rng, today):
    customers = [f"CUST{i:04d}" for i in range(1, len(base.CUSTOMERS) + 1)]
    for index in range(1, 41):
        day = today - timedelta(days=rng.randint(1, RECEIVABLE_DAYS))
        total = Decimal(rng.randint(5000, 120000))
        written = total if index % 5 == 0 else (total * Decimal(rng.choice([0, 0, 0.3, 0.5]))).quantize(Decimal("1"))
        org = rng.choice(ORGS)
        _bill("AR_receivable", f"AR{today:%Y%m}{index:04d}", {
            "FBillTypeID": {"FNumber": "YSD01_SYS"}, "FDATE": f"{day:%Y-%m-%d}T00:00:00",
            "FENDDATE_H": f"{day + timedelta(days=30):%Y-%m-%d}T00:00:00",
            "FCUSTOMERID": {"FNumber": rng.choice(customers)}, "FCURRENCYID": {"FNumber": "PRE001"},
            "FSETTLEORGID": {"FNumber": org}, "FSALEORGID": {"FNumber": org}, "FALLAMOUNTFOR": float(total),
            "FWRITTENOFFAMOUNTFOR": float(written), "FNORECEIVEAMOUNT": float(total - written)})


def _numbered(entries):
    for seq, entry in enumerate(entries, start=1):
        entry["FEntryID"], entry["FSeq"] = seq, seq
    return entries


class StockError(ValueError):
    pass


@transaction.atomic
def set_stock(material, stock, qty):
    """The on-hand quantity of a material in a warehouse (the row is created if there is none)."""
    if not FormRecord.objects.filter(form_id="BD_MATERIAL", number=str(material)).exists():
        raise StockError(f"物料“{material}”不存在")
    if not FormRecord.objects.filter(form_id="BD_STOCK", number=str(stock)).exists():
        raise StockError(f"仓库“{stock}”不存在")
    try:
        qty = Decimal(str(qty))
    except ArithmeticError as exc:
        raise StockError("数量(qty)必须是数字") from exc
    qty = int(qty) if qty == qty.to_integral_value() else float(qty)
    number = inventory_number(material, stock)
    row = FormRecord.objects.select_for_update().filter(form_id="STK_Inventory", number=number).first()
    if row is None:
        row = FormRecord(form_id="STK_Inventory", fid=Sequence.next("STK_Inventory:fid", ID_START), number=number,
                         document_status=FormRecord.Status.AUDITED)
    locked = row.model.get("FBaseLockQty", 0) if row.model else 0
    row.model = {"FID": row.fid, **inventory_model(str(material), str(stock), qty, locked)}
    row.save()
    return row.model


def fill_materials(count, seed=1):
    """Benchmarks: `count` more materials with stock in every warehouse, written in bulk."""
    rng = random.Random(seed)
    start = Sequence.next("BD_MATERIAL:fid", ID_START, count)
    first_stock = Sequence.next("STK_Inventory:fid", ID_START, count * len(STOCKS)) - count * len(STOCKS) + 1
    kinds = ["网关", "传感器", "控制器", "模块", "支架", "线缆", "电源", "面板", "探头", "继电器", "开关", "接头", "外壳",
             "显示屏", "电机", "阀门", "滤网", "轴承", "风扇", "读卡器"]
    series = ["星河", "北辰", "天枢", "云帆", "远航", "启明", "长风", "青松"]
    materials, stocks = [], []
    for index in range(count):
        fid, number = start - count + 1 + index, f"9.{index // 1000:02d}.{index % 1000:03d}"
        name = f"{rng.choice(series)}{rng.choice(kinds)} {index:05d}型"
        model = {"FMATERIALID": fid, "FNumber": number, "FName": name,
                 **material_model(f"{chr(65 + index % 26)}{index % 9973:04d}-{rng.randint(10, 99)}", "批量",
                                  rng.randint(0, 50))}
        materials.append(FormRecord(form_id="BD_MATERIAL", fid=fid, number=number, name=name, model=model,
                                    document_status=FormRecord.Status.AUDITED))
        for offset, (stock, _name, _org) in enumerate(STOCKS):
            stock_fid = first_stock + index * len(STOCKS) + offset
            stocks.append(FormRecord(form_id="STK_Inventory", fid=stock_fid, number=inventory_number(number, stock),
                                     document_status=FormRecord.Status.AUDITED,
                                     model={"FID": stock_fid, **inventory_model(number, stock, rng.randint(0, 400))}))
    FormRecord.objects.bulk_create(materials, batch_size=2000)
    FormRecord.objects.bulk_create(stocks, batch_size=2000)
    return count
