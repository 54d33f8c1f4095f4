"""Kingdee as a target: BatchSave of one form, optional submit and audit, lookup by the dedupe field."""

import hashlib

from django.utils.translation import gettext_lazy as _

from integrations.adapters.base import Outcome, Param, TargetAdapter, register_target
from integrations.clients.errors import BusinessError

FIND_CHUNK = 200  # keys per ExecuteBillQuery; keeps the filter string short
NUMBER_TAKEN = "违反字段唯一性要求"  # MsgCode 11 on FBillNo: the number is used by a bill already (reference §6.3)
MAX_NUMBER = 80


def quote(value):
    return "'" + str(value).replace("'", "''") + "'"


@register_target
class SaveTarget(TargetAdapter):
    kind = "kingdee.save"
    label = _("Kingdee bills (BatchSave)")
    connection_kind = "kingdee"
    settings_schema = {
        "form_id": Param(_("form id"), required=True, default="AP_PAYBILL"),
        "submit": Param(_("submit after saving"), bool, default=False),
        "audit": Param(_("audit after submitting"), bool, default=False),
        "verify_base_data": Param(_("verify base-data numbers (IsVerifyBaseDataField)"), bool, default=True),
        "options": Param(_("other Save options"), dict, default={}),
        # Reference §9.3 step 3: a second guard that holds whatever the timing. Only where the form's coding rule
        # lets a bill be saved with its own number.
        "number_from_key": Param(_("bill number from the source key (refuses a second save; the coding rule must "
                                   "allow manual numbers)"), bool, default=False),
    }

    @property
    def form_id(self):
        return self.params["form_id"]

    def write(self, items):
        models = [self.with_dedupe_key(key, payload) for key, payload in items]
        if self.params.get("number_from_key"):
            models = [{**model, "FBillNo": bill_number(key)} for (key, _payload), model in zip(items, models)]
        options = {**self.params.get("options", {}), "IsVerifyBaseDataField": bool(self.params["verify_base_data"])}
        results = self.client.batch_save(self.form_id, models, **options)
        outcomes = [self._outcome(result) for result in results]
        if self.params.get("number_from_key"):
            outcomes = self._adopt_taken_numbers([key for key, _payload in items], outcomes)
        return outcomes

    def _adopt_taken_numbers(self, keys, outcomes):
        """A save refused because its number is taken was written before (a save whose answer was lost landed
        after all): the bill that carries the key is adopted instead of failing. A number taken by a bill of
        another key stays a failure, in Kingdee's words."""
        taken = [key for key, outcome in zip(keys, outcomes) if not outcome.ok and _number_taken(outcome.response)]
        found = self.find(taken) if taken else {}
        return [found.get(key, outcome) if key in taken else outcome for key, outcome in zip(keys, outcomes)]

    @staticmethod
    def _outcome(result):
        errors = list(result.errors or [])
        response = {"ok": result.ok, "id": result.id, "number": result.number, "errors": errors}
        return Outcome(bool(result.ok), str(result.id or ""), str(result.number or ""), _message(errors), response)

    def find(self, keys):
        if not self.dedupe_field:
            return {}
        found = {}
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), FIND_CHUNK):
            chunk = keys[start:start + FIND_CHUNK]
            rows = self.client.execute_bill_query(
                self.form_id,
                ["FID", "FBillNo", self.dedupe_field],
                filter_string=f"{self.dedupe_field} in ({','.join(quote(key) for key in chunk)})",
                order_string="FID ASC",
                limit=10000,
            )
            for bill_id, number, key in rows:
                found.setdefault(str(key), []).append((str(bill_id), str(number)))
        return {key: self._found(bills) for key, bills in found.items()}

    @staticmethod
    def _found(bills):
        unique = list(dict.fromkeys(bills))
        bill_id, number = unique[0]
        if len(unique) > 1:
            return Outcome(True, bill_id, number, response={"found": [list(bill) for bill in unique]},
                           code="several_in_target",
                           params={"count": len(unique), "numbers": ", ".join(n for _i, n in unique)})
        return Outcome(True, bill_id, number, response={"found": [list(bill) for bill in unique]})

    def after_write(self, outcomes):
        """Submit, then audit, the saved bills: one call per step for the whole batch."""
        numbers = [outcome.number for outcome in outcomes if outcome.ok and outcome.number]
        failures = {}
        steps = ["submit"] if self.params["submit"] or self.params["audit"] else []
        if self.params["audit"]:
            steps.append("audit")
        for operation in steps:
            if not numbers:
                break
            try:
                results = getattr(self.client, operation)(self.form_id, numbers=numbers) or []
            except BusinessError as error:
                results = [_Failed(number, error.message) for number in numbers]
            for result in results:
                if not result.ok:
                    message = _message(result.errors)
                    failures[str(result.number)] = Outcome(False, number=str(result.number), message=message,
                                                           code="follow_up_failed",
                                                           params={"step": operation, "message": message})
            numbers = [number for number in numbers if number not in failures]
        return failures


def bill_number(key):
    """The bill number a source key always gets (deterministic, within Kingdee's number length)."""
    key = str(key)
    return key if len(key) <= MAX_NUMBER else hashlib.sha1(key.encode()).hexdigest()


def _number_taken(response):
    errors = (response or {}).get("errors") or []
    return bool(errors) and all(str(error.get("field") or "").upper() == "FBILLNO"
                                and NUMBER_TAKEN in str(error.get("message") or "") for error in errors)


class _Failed:
    def __init__(self, number, message):
        self.ok, self.number, self.errors = False, number, [{"field": "", "message": message}]


def _message(errors):
    """Kingdee's own words; the field key is added when the message does not name it."""
    parts = []
    for error in errors or []:
        field, message = error.get("field") or "", error.get("message") or ""
        parts.append(f"{message}（{field}）" if field and field not in message else message)
    return "；".join(parts)
