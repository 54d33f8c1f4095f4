"""Available stock against safety stock (kingdee-webapi-round2.md §7.3), and stock by warehouse for a search.

Materials with safety stock enabled come from BD_MATERIAL; their available quantity is the sum of
STK_Inventory `FBaseAvbQty` over the chosen organisations and warehouses, read in batches of material numbers.
"""

from decimal import Decimal

from integrations.adapters.kingdee import quote
from integrations.adapters.kingdee_query import both, query_rows
from integrations.reports.tables import number

BATCH = 200  # material numbers per `in (…)` filter: keeps the filter string short
MATERIAL_FIELDS = ["FNumber", "FName", "FSpecification", "FSafeStock", "FPurchaserId.FNumber"]
STOCK_FIELDS = ["FMaterialId.FNumber", "FStockOrgId.FNumber", "FStockOrgId.FName", "FStockId.FNumber",
                "FStockId.FName", "FBaseQty", "FBaseAvbQty"]


def within(field, values):
    return f"{field} in ({','.join(quote(value) for value in values)})" if values else ""


def inventory(client, materials, orgs=(), warehouses=()):
    """STK_Inventory rows as dicts for the material numbers, narrowed to the organisations and warehouses."""
    rows = []
    materials = list(dict.fromkeys(materials))
    for start in range(0, len(materials), BATCH):
        chunk = materials[start:start + BATCH]
        filter_string = both(within("FMaterialId.FNumber", chunk), within("FStockOrgId.FNumber", orgs),
                             within("FStockId.FNumber", warehouses))
        rows += query_rows(client, "STK_Inventory", STOCK_FIELDS, filter_string, "FMaterialId.FNumber ASC", 10000)
    return rows


def levels(client, orgs=(), warehouses=(), per_org=False):
    """One row per material (or material and organisation): available, safety stock, shortage and buyer."""
    materials = query_rows(client, "BD_MATERIAL", MATERIAL_FIELDS,
                           both("FIsEnableSafeStock = 1", "FForbidStatus = 'A'"), "FNumber ASC")
    by_number = {row["FNumber"]: row for row in materials}
    available = {}
    for row in inventory(client, list(by_number), orgs, warehouses):
        key = (row["FMaterialId.FNumber"], row["FStockOrgId.FNumber"] if per_org else "")
        entry = available.setdefault(key, {"qty": Decimal(0), "org_name": row["FStockOrgId.FName"] if per_org else ""})
        entry["qty"] += number(row["FBaseAvbQty"])
    keys = sorted(available) if per_org else [(material, "") for material in by_number]
    result = []
    for material, org in keys:
        if material not in by_number:
            continue
        item, found = by_number[material], available.get((material, org), {"qty": Decimal(0), "org_name": ""})
        safety = number(item["FSafeStock"])
        result.append({
            "key": f"{material}@{org}" if org else material, "material": material, "name": item["FName"],
            "spec": item["FSpecification"], "org": org, "org_name": found["org_name"], "available": found["qty"],
            "safety": safety, "short": max(Decimal(0), safety - found["qty"]), "low": found["qty"] < safety,
            "buyer": item.get("FPurchaserId.FNumber") or ""})
    return result
