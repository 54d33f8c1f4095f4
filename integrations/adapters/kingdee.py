"""Kingdee as a target: BatchSave of one form, optional submit and audit, lookup by the dedupe field."""

from django.utils.translation import gettext_lazy as _

from integrations.adapters.base import Outcome, Param, TargetAdapter, register_target
from integrations.clients.errors import BusinessError

FIND_CHUNK = 200  # keys per ExecuteBillQuery; keeps the filter string short


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
    }

    @property
    def form_id(self):
        return self.params["form_id"]

    def write(self, items):
        models = [self.with_dedupe_key(key, payload) for key, payload in items]
        options = {**self.params.get("options", {}), "IsVerifyBaseDataField": bool(self.params["verify_base_data"])}
        results = self.client.batch_save(self.form_id, models, **options)
        return [self._outcome(result) for result in results]

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
