"""The voucher target (GL_VOUCHER), and the save target binding files and waiting for closed periods."""

import re

from integrations.clients.kingdee import ItemOutcome
from tests.contract.registry import TargetCase, target
from tests.integrations.fakes import FakeKingdee


class FakeLedger(FakeKingdee):
    """GL_VOUCHER: balance checked, found by `FEXPLANATION like '%CVN:key%'` (round 2 §5.4); AP bills dated before
    `closed_through` refused as the sandbox's AP profile words it (§9)."""

    closed_through = "2026-04"

    def batch_save(self, form_id, models, **options):
        if form_id == "GL_VOUCHER":
            return [self._voucher(index, model) for index, model in enumerate(models)]
        refused = [index for index, model in enumerate(models) if str(model.get("FDATE", ""))[:7] <= self.closed_through]
        kept = [model for index, model in enumerate(models) if index not in refused]
        saved = iter(super().batch_save(form_id, kept, **options))
        return [ItemOutcome(index, False, errors=[{"field": "FDATE", "message": (
            f"业务日期({models[index]['FDATE']})早于应付当前期间(2026年第5期)，不允许保存！")}]) if index in refused
            else next(saved) for index in range(len(models))]

    def _voucher(self, index, model):
        rows = model.get("FEntity") or []
        if round(sum(r.get("FDEBIT", 0) for r in rows), 2) != round(sum(r.get("FCREDIT", 0) for r in rows), 2):
            return ItemOutcome(index, False, errors=[{"field": "FEntity", "message": "借贷不平衡"}])
        bill_id = next(self.ids)
        self.bills.append({"id": str(bill_id), "number": f"PZ{bill_id:08d}", "model": model})
        return ItemOutcome(index, True, str(bill_id), f"PZ{bill_id:08d}")

    def execute_bill_query(self, form_id, field_keys, filter_string="", order_string="", start_row=0, limit=2000):
        if form_id != "GL_VOUCHER":
            return super().execute_bill_query(form_id, field_keys, filter_string, order_string, start_row, limit)
        keys = set(re.findall(r"%CVN:([^%]+)%", filter_string))
        return [[bill["id"], bill["number"], row["FEXPLANATION"]] for bill in self.bills
                for row in bill["model"].get("FEntity", []) if any(f"CVN:{k}" in row["FEXPLANATION"] for k in keys)]


def voucher(amount=100.0, credit=None):
    return {"FDate": "2026-06-01", "CREDIT_AMOUNT": amount if credit is None else credit, "CREDIT_EMPLOYEE": "0044",
            "FEntity": [{"FEXPLANATION": "差旅费", "FACCOUNTID": {"FNumber": "6602.02"}, "FDEBIT": amount}]}


target(TargetCase("kingdee.voucher", {"form_id": "GL_VOUCHER", "book": "001", "voucher_group": "PRE001",
                                      "credit_account": "2241.01"}, FakeLedger,
                  lambda: {"v1": voucher(), "v2": voucher(250.5)}, dedupe_field="FEXPLANATION",
                  rejected=lambda: ("v3", voucher(100.0, credit=99.0)), name="kingdee.voucher"))


def paybill(key, day="2026-06-01"):
    return {"FDATE": day, "FTHIRDBILLNO": key,
            "FPAYBILLENTRY": [{"FCOSTID": {"FNumber": "FYXM02_SYS"}, "FPAYTOTALAMOUNTFOR": 100.0}]}


target(TargetCase("kingdee.save", {"form_id": "AP_PAYBILL"}, FakeLedger,
                  lambda: {"p1": paybill("p1"), "p2": paybill("p2")}, dedupe_field="FTHIRDBILLNO",
                  rejected=lambda: ("p3", paybill("p3", day="2026-04-30")), name="kingdee.save (closed AP period)"))
