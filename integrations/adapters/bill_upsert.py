"""Kingdee bills that follow their source: the first write creates the bill, a changed source record updates it.

For sources whose records change after they were booked (a Yida sales order edited, a month's attendance
corrected). The engine treats it as master data (`mode = MASTER`): a payload equal to the one written last is not
written at all; otherwise `find` looks the key up in the dedupe field (one query per batch, so never a second bill,
across schemes too) and `plan` creates the bill or saves it again under its own FID. An update sends the whole
payload with `IsDeleteEntry: true`: the entry rows are replaced by the source's rows. Kingdee refuses to change a
submitted or audited bill; that record fails with Kingdee's words, and a person un-audits it and retries.
"""

from django.utils.translation import gettext_lazy as _

from integrations.adapters.base import Change, Outcome, Param, TargetAdapter, register_target
from integrations.adapters.kingdee import FIND_CHUNK, _message, quote


@register_target
class BillUpsertTarget(TargetAdapter):
    kind = "kingdee.bill_upsert"
    label = _("Kingdee bills, updated when the source changes")
    connection_kind = "kingdee"
    mode = TargetAdapter.MASTER
    settings_schema = {
        "form_id": Param(_("form id"), required=True, default="SAL_SaleOrder"),
        "audit": Param(_("submit and audit new bills (an audited bill can no longer be updated)"), bool,
                       default=False),
        "verify_base_data": Param(_("verify base-data numbers (IsVerifyBaseDataField)"), bool, default=True),
        "options": Param(_("other Save options"), dict, default={}),
    }

    @property
    def form_id(self):
        return self.params["form_id"]

    def find(self, keys):
        """{key: Outcome(id, number, state={"status": FDocumentStatus})} of the bills already holding these keys."""
        if not self.dedupe_field:
            return {}
        wanted = list(dict.fromkeys(key[0] if isinstance(key, tuple) else key for key in keys))
        found = {}
        for start in range(0, len(wanted), FIND_CHUNK):
            chunk = wanted[start:start + FIND_CHUNK]
            rows = self.client.execute_bill_query(
                self.form_id, ["FID", "FBillNo", "FDocumentStatus", self.dedupe_field],
                filter_string=f"{self.dedupe_field} in ({','.join(quote(key) for key in chunk)})",
                order_string="FID ASC", limit=10000)
            for bill_id, number, status, key in rows:
                bills = found.setdefault(str(key), {})
                bills.setdefault(str(bill_id), (str(number), str(status or "")))
        outcomes = {}
        for key, bills in found.items():
            (bill_id, (number, status)), *others = bills.items()
            outcome = Outcome(True, bill_id, number, state={"status": status},
                              response={"found": [[i, n] for i, (n, _s) in bills.items()]})
            if others:
                outcome.code = "several_in_target"
                outcome.params = {"count": len(bills), "numbers": ", ".join(n for n, _s in bills.values())}
            outcomes[key] = outcome
        return outcomes

    def plan(self, key, payload, existing, written):
        if existing is None:
            return Change(Change.CREATE, {"Model": payload})
        model = {"FID": int(existing.id), **{k: v for k, v in payload.items() if k.upper() != "FID"}}
        return Change(Change.UPDATE, {"Model": model, "Number": existing.number}, tuple(payload))

    def write(self, items):
        outcomes = [None] * len(items)
        creates, updates = [], []
        for index, (key, change) in enumerate(items):
            model = change.get("Model") if isinstance(change, dict) and "Model" in change else change
            model = self.with_dedupe_key(key, model)
            (updates if model.get("FID") else creates).append((index, model))
        base = {**self.params.get("options", {}), "IsVerifyBaseDataField": bool(self.params["verify_base_data"])}
        for group, options in ((creates, {"IsAutoSubmitAndAudit": True} if self.params["audit"] else {}),
                               (updates, {"IsDeleteEntry": "true"})):
            if not group:
                continue
            results = self.client.batch_save(self.form_id, [model for _index, model in group], **{**base, **options})
            for (index, model), result in zip(group, results):
                errors = list(result.errors or [])
                message = _message(errors)
                response = {"ok": result.ok, "id": result.id, "number": result.number, "errors": errors,
                            "updated": bool(model.get("FID"))}
                outcomes[index] = Outcome(bool(result.ok), str(result.id or model.get("FID") or ""),
                                          str(result.number or ""), message, response,
                                          code="" if result.ok else "target_refused",
                                          params={} if result.ok else {"message": message})
        return outcomes
