"""Kingdee as a target: BatchSave of one form, optional submit and audit, lookup by the dedupe field."""

import hashlib
import re
from decimal import Decimal

from django.utils.translation import gettext, gettext_lazy as _

from integrations import periods
from integrations.adapters.base import Outcome, Param, TargetAdapter, register_target
from integrations.clients.errors import BusinessError, RemoteError

ATTACHMENTS = "ATTACHMENTS"  # payload key of the files to bind (a mapping row with the "attachments" transform)
FIND_CHUNK = 200  # keys per ExecuteBillQuery; keeps the filter string short
NUMBER_TAKEN = "违反字段唯一性要求"  # MsgCode 11 on FBillNo: the number is used by a bill already (reference §6.3)
MAX_NUMBER = 80
CENT = Decimal("0.01")
CVN = re.compile(r"CVN:(\S+)")  # the source key in a voucher's 摘要 (round 2 §5.4)


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
        "attachment_max_mb": Param(_("largest attachment (MB)"), int, default=20),
        "period_redate": Param(_("closed period: date into the first open period instead of waiting"), bool,
                               default=False),
        # Reference §9.3 step 3: a second guard that holds whatever the timing. Only where the form's coding rule
        # lets a bill be saved with its own number.
        "number_from_key": Param(_("bill number from the source key (refuses a second save; the coding rule must "
                                   "allow manual numbers)"), bool, default=False),
    }

    @property
    def form_id(self):
        return self.params["form_id"]

    def write(self, items):
        """BatchSave the packages; files the mapping attached (`ATTACHMENTS`) are read from the source first (a
        file that cannot be read fails its record before anything is written) and bound to the saved bill after
        (a file Kingdee refuses deletes the bill again and fails the record: never a bill without its files)."""
        outcomes, ready, files = [None] * len(items), [], {}
        for index, (key, payload) in enumerate(items):
            payload = dict(payload)
            wanted = payload.pop(ATTACHMENTS, None) or []
            refusal = self.refuse(payload)
            if refusal is None and wanted:
                files[index], refusal = self.read_files(key, wanted)
            if refusal is not None:
                outcomes[index] = refusal
            else:
                ready.append((index, key, self.prepared(key, payload)))
        if ready:
            options = {**self.params.get("options", {}),
                       "IsVerifyBaseDataField": bool(self.params["verify_base_data"])}
            results = self.client.batch_save(self.form_id, [payload for _i, _k, payload in ready], **options)
            results = self.redate_refused(ready, results, options)
            for (index, _key, payload), result in zip(ready, results):
                outcome = self._outcome(result, payload)
                if outcome.ok and files.get(index):
                    outcome = self.bind_files(outcome, files[index])
                outcomes[index] = outcome
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

    def redate_refused(self, ready, results, options):
        """With `period_redate`, packages refused for a closed period are saved again dated into the first open
        period (the original date in the remark); without it they wait for the period (see `_outcome`)."""
        if not self.params.get("period_redate"):
            return results
        again = [position for position, result in enumerate(results)
                 if not result.ok and periods.is_period_refusal(_message(result.errors))]
        if not again:
            return results
        results = list(results)
        for position in again:
            index, key, payload = ready[position]
            day = periods.first_open_day(_message(results[position].errors), periods.period_of(payload))
            ready[position] = (index, key, periods.redated(payload, day))
        retried = self.client.batch_save(self.form_id, [ready[position][2] for position in again], **options)
        for position, result in zip(again, retried):
            results[position] = result
        return results

    def refuse(self, payload):
        """An Outcome when the package must not be sent at all (see VoucherTarget), else None."""
        return None

    def prepared(self, key, payload):
        payload = self.with_dedupe_key(key, payload)
        return {**payload, "FBillNo": bill_number(key)} if self.params.get("number_from_key") else payload

    def _outcome(self, result, payload=None):
        errors = list(result.errors or [])
        response = {"ok": result.ok, "id": result.id, "number": result.number, "errors": errors}
        message = _message(errors)
        if not result.ok and periods.is_period_refusal(message):
            period = periods.period_of(payload or {})
            return Outcome(False, message=message, response=response, waiting=True, code=periods.REASON,
                           params={"period": period, "message": message})
        return Outcome(bool(result.ok), str(result.id or ""), str(result.number or ""), message, response)

    # ---- attachments (round 2 §8) ---------------------------------------------------------------

    read_attachment = None  # set by the engine: (source key, file) → bytes, from the source's client

    def read_files(self, key, wanted):
        limit = int(self.params.get("attachment_max_mb") or 20) * 1024 * 1024
        if self.read_attachment is None:
            return None, self._file_failed(wanted[0], gettext("the source cannot read attachments"))
        files = []
        for file in wanted:
            if int(file.get("file_size") or 0) > limit:
                return None, self._file_failed(file, gettext("larger than %(mb)s MB") % {
                    "mb": self.params.get("attachment_max_mb") or 20})
            try:
                files.append((file, self.read_attachment(key, file, limit)))
            except RemoteError as error:
                return None, self._file_failed(file, error.message)
        return files, None

    def bind_files(self, outcome, files):
        for file, content in files:
            try:
                file_id = self.client.attachment_upload(self.form_id, outcome.id, outcome.number, file["file_name"],
                                                        content)
            except RemoteError as error:
                undone = self._undo(outcome.number)
                failed = self._file_failed(file, error.message, number=outcome.number, undone=undone)
                failed.response = {**(outcome.response or {}), "attachment_error": error.message}
                return failed
            outcome.response = {**(outcome.response or {}), "attachments": [
                *(outcome.response or {}).get("attachments", []), {"name": file["file_name"], "file_id": file_id}]}
        return outcome

    def _undo(self, number):
        try:
            results = self.client.delete(self.form_id, numbers=[number]) or []
        except RemoteError:
            return False
        return all(result.ok for result in results)

    @staticmethod
    def _file_failed(file, message, number="", undone=True):
        code = "attachment_failed" if undone else "attachment_failed_bill_kept"
        return Outcome(False, message=message, code=code,
                       params={"file": file.get("file_name") or file.get("file_id") or "", "message": message,
                               "number": number})

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


@register_target
class VoucherTarget(SaveTarget):
    """One GL_VOUCHER per record (round 2 §5): the mapping gives the debit lines (`FEntity[]`: 摘要, account,
    dimensions, FDEBIT) and `CREDIT_AMOUNT` (the claim's total) with `CREDIT_EMPLOYEE` (the payee's staff number);
    this target adds the credit line (other payables to the employee, or the bank account, per scheme), the book,
    凭证字, year and period of the business date, and checks the balance before anything is written. The source key
    rides in every 摘要 as `CVN:<key>`, which is how a voucher is found again (§5.4)."""

    kind = "kingdee.voucher"
    label = _("Kingdee vouchers (GL_VOUCHER)")
    settings_schema = {  # a voucher's number is Kingdee's (per book and period): no number from the key
        **{name: param for name, param in SaveTarget.settings_schema.items() if name != "number_from_key"},
        "form_id": Param(_("form id"), required=True, default="GL_VOUCHER"),
        "book": Param(_("account book number"), required=True, default="001"),
        "voucher_group": Param(_("voucher word (凭证字)"), required=True, default="PRE001"),
        "credit_account": Param(_("credit account"), required=True, default="2241.01"),
        "credit_to": Param(_("credit line"), default="employee", choices=(
            ("employee", _("other payables to the employee")), ("bank", _("the bank account")))),
        "currency": Param(_("currency"), default="PRE001"),
    }
    PSEUDO = ("CREDIT_AMOUNT", "CREDIT_EMPLOYEE")

    def with_dedupe_key(self, key, payload):
        return payload  # the key goes into the 摘要 (see `prepared`)

    def refuse(self, payload):
        debit, credit = self.totals(payload)
        if debit != credit:
            params = {"debit": str(debit), "credit": str(credit)}
            return Outcome(False, message=gettext("The voucher does not balance: debit %(debit)s, credit %(credit)s; "
                                                  "nothing was written.") % params, code="voucher_unbalanced",
                           params=params)
        return None

    @staticmethod
    def totals(payload):
        rows = payload.get("FEntity") or []
        debit = sum((Decimal(str(row.get("FDEBIT") or 0)) for row in rows), Decimal(0))
        credit = Decimal(str(payload.get("CREDIT_AMOUNT") or 0))
        return debit.quantize(CENT), credit.quantize(CENT)

    def prepared(self, key, payload):
        payload = dict(payload)
        amount = self.totals(payload)[1]
        employee = payload.pop("CREDIT_EMPLOYEE", None)
        payload.pop("CREDIT_AMOUNT", None)
        day = periods.bill_date(payload)
        marker = f"CVN:{key}"
        currency = {"FCURRENCYID": {"FNumber": self.params.get("currency") or "PRE001"},
                    "FEXCHANGERATETYPE": {"FNumber": "HLTX01_SYS"}, "FEXCHANGERATE": 1}
        debits = [{**row, **currency, "FEXPLANATION": f"{row.get('FEXPLANATION') or ''} {marker}".strip(),
                   "FAMOUNTFOR": row.get("FDEBIT"), "FCREDIT": 0, "FDC": 1} for row in payload.get("FEntity") or []]
        summary = (debits[0]["FEXPLANATION"].replace(marker, "").strip() if debits else "") or key
        credit = {"FEXPLANATION": f"{summary} {marker}", "FACCOUNTID": {"FNumber": self.params["credit_account"]},
                  **currency, "FAMOUNTFOR": float(amount), "FDEBIT": 0, "FCREDIT": float(amount), "FDC": 2}
        if self.params.get("credit_to", "employee") == "employee" and employee:
            credit["FDetailID"] = {"FDETAILID__FFLEX7": employee if isinstance(employee, dict)
                                   else {"FNumber": str(employee)}}
        model = {"FVOUCHERID": 0, "FAccountBookID": {"FNumber": self.params["book"]},
                 "FVOUCHERGROUPID": {"FNumber": self.params["voucher_group"]}, **payload,
                 "FEntity": debits + [credit]}
        if day:
            model.update(FDate=day.isoformat(), FBUSDATE=day.isoformat(), FYEAR=day.year, FPERIOD=day.month)
            model.pop("FDATE", None)
        return model

    def find(self, keys):
        found = {}
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), FIND_CHUNK // 4):
            chunk = keys[start:start + FIND_CHUNK // 4]
            rows = self.client.execute_bill_query(
                self.form_id, ["FVOUCHERID", "FBillNo", "FEXPLANATION"],
                filter_string=" or ".join(f"FEXPLANATION like {quote('%CVN:' + key + '%')}" for key in chunk),
                order_string="FVOUCHERID ASC", limit=10000)
            for voucher_id, number, explanation in rows:
                match = CVN.search(str(explanation or ""))
                if match and match.group(1) in chunk:
                    found.setdefault(match.group(1), []).append((str(voucher_id), str(number)))
        return {key: self._found(vouchers) for key, vouchers in found.items()}


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
