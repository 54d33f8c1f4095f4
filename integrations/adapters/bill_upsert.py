"""Kingdee bills that follow their source: the first write creates the bill, a changed source record updates it.

For sources whose records change after they were booked (a Yida sales order edited, a month's attendance
corrected). The engine treats it as master data (`mode = MASTER`): a payload equal to the one written last is not
written at all; otherwise `find` looks the key up in the dedupe field (one query per batch, so never a second bill,
across schemes too) and `plan` creates the bill or saves it again under its own FID. An update sends the whole
payload with `IsDeleteEntry: true`: the entry rows are replaced by the source's rows. Kingdee refuses to change a
submitted or audited bill; that record fails with Kingdee's words, and a person un-audits it and retries.

A bill edited in Kingdee since the portal wrote it (its `FModifyDate` moved) is not overwritten by the next source
change: the record becomes a conflict. "Keep DingTalk" writes the source's version over it; "keep Kingdee" leaves
the bill as Kingdee has it and the portal stops updating it. The state kept per key is the bill's modify time after
the portal's write and the fingerprint of the payload written (`_fingerprint`).
"""

import hashlib
import json


from django.utils.translation import gettext_lazy as _

from integrations.adapters.base import Change, Outcome, Param, TargetAdapter, register_target
from integrations.adapters.kingdee import FIND_CHUNK, _message, quote

MODIFIED = "FModifyDate"  # the state kept: the bill's modify time as Kingdee answers it (shown in a conflict)


def fingerprint(payload):
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@register_target
class BillUpsertTarget(TargetAdapter):
    kind = "kingdee.bill_upsert"
    label = _("Kingdee bills, updated when the source changes")
    connection_kind = "kingdee"
    mode = TargetAdapter.MASTER
    makes_documents = True  # a bill per key, found by the dedupe field: two schemes on the form take turns
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
        """{key: Outcome(id, number, state={"FModifyDate": …, "_status": FDocumentStatus})} of the bills
        already holding these keys (one query per 200 keys)."""
        if not self.dedupe_field:
            return {}
        wanted = list(dict.fromkeys(key[0] if isinstance(key, tuple) else key for key in keys))
        found = {}
        for key, bill_id, number, status, modified in self.read(self.dedupe_field, wanted):
            found.setdefault(key, {}).setdefault(bill_id, (number, status, modified))
        outcomes = {}
        for key, bills in found.items():
            (bill_id, (number, status, modified)), *others = bills.items()
            outcome = Outcome(True, bill_id, number, state={MODIFIED: modified, "_status": status},
                              response={"found": [[i, n] for i, (n, _s, _m) in bills.items()]})
            if others:
                outcome.code = "several_in_target"
                outcome.params = {"count": len(bills), "numbers": ", ".join(n for n, _s, _m in bills.values())}
            outcomes[key] = outcome
        return outcomes

    def read(self, field, values):
        """(value of `field`, FID, FBillNo, FDocumentStatus, FModifyDate) of the bills whose `field` is in `values`."""
        for start in range(0, len(values), FIND_CHUNK):
            chunk = values[start:start + FIND_CHUNK]
            keys = ["FID", "FBillNo", "FDocumentStatus", "FModifyDate"] + ([field] if field != "FID" else [])
            rows = self.client.execute_bill_query(
                self.form_id, keys, filter_string=f"{field} in ({','.join(quote(value) for value in chunk)})",
                order_string="FID ASC", limit=10000)
            for row in rows:
                bill_id, number, status, modified = row[:4]
                yield str(row[4] if field != "FID" else bill_id), str(bill_id), str(number), str(status or ""), str(
                    modified or "")

    def plan(self, key, payload, existing, written):
        if existing is None:
            return Change(Change.CREATE, {"Model": payload})
        written = written if isinstance(written, dict) else {}
        last, kept = written.get("target") or {}, set(written.get("kept") or [])
        now = (existing.state or {}).get(MODIFIED, "")
        if MODIFIED in kept:  # a person kept the bill as Kingdee has it
            return Change(Change.UNCHANGED)
        if last.get(MODIFIED) and now and now != last[MODIFIED]:
            return Change(Change.CONFLICT, conflicts={MODIFIED: {"source": last.get(MODIFIED), "target": now,
                                                                 "written": last.get(MODIFIED)}})
        if last.get("_fingerprint") == fingerprint(payload):
            return Change(Change.UNCHANGED)
        model = {"FID": int(existing.id), **{k: v for k, v in payload.items() if k.upper() != "FID"}}
        return Change(Change.UPDATE, {"Model": model, "Number": existing.number, "Fingerprint": fingerprint(payload)},
                      tuple(payload))

    def write(self, items):
        outcomes = [None] * len(items)
        creates, updates, prints = [], [], {}
        for index, (key, change) in enumerate(items):
            model = change.get("Model") if isinstance(change, dict) and "Model" in change else change
            prints[index] = change.get("Fingerprint") or fingerprint(model) if "Model" in change else fingerprint(change)
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
        self.stamp(outcomes, prints)
        return outcomes

    def stamp(self, outcomes, prints):
        """The state to keep for each bill written: its modify time now (one query) and the payload's fingerprint."""
        written = {outcome.id: index for index, outcome in enumerate(outcomes) if outcome and outcome.ok and outcome.id}
        times = {bill_id: modified for _v, bill_id, _n, _s, modified in self.read("FID", list(written))}
        for bill_id, index in written.items():
            outcomes[index].state = {MODIFIED: times.get(bill_id, ""), "_fingerprint": prints[index]}
