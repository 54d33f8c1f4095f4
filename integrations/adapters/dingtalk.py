"""DingTalk as a source: approval instances (OA 审批) of one process code."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext, gettext_lazy as _

from integrations import mapping
from integrations.adapters.base import Listed, Param, SourceAdapter, Verdict, register_source

UNFINISHED = ["RUNNING"]
REPLACEMENTS = ("MODIFY", "REVOKE")


@register_source
class ApprovalSource(SourceAdapter):
    """Approved instances are written; refused, withdrawn and cancelled ones are skipped with the reason;
    running ones wait. Each listing call and each detail fetch counts against DingTalk's monthly quota, so
    with the v1.0 API the listing first asks for the running instances (ids only: they wait without a detail
    call), and details are fetched only for keys the ledger has not settled."""

    kind = "dingtalk.approval"
    label = _("DingTalk approvals")
    connection_kind = "dingtalk"
    settings_schema = {
        "process_code": Param(_("approval template (process code)"), required=True),
        "amount_field": Param(_("amount field shown in the ledger"), default="报销总额(元)"),
        "book_replacements": Param(
            _("also book instances that replace an approved one (biz_action MODIFY/REVOKE)"), bool, default=False
        ),
    }

    @property
    def filters_by_status(self):
        """The v1.0 listing filters by status; the legacy topapi listing cannot."""
        return not getattr(self.client, "legacy_approvals", False)

    def list(self, since, until, recheck_since=None):
        code = self.params["process_code"]
        start = min(since, recheck_since) if recheck_since else since
        if not self.filters_by_status:
            for key in self.client.list_instance_ids(code, start, until):
                yield Listed(key, None, start)
            return
        # Running ids first (usually few, and they cover the waiting records' older range too): they wait
        # without a detail call. The v1.0 status filter has no CANCELED, so new records come from an
        # unfiltered listing of the window, where cancelled instances do show.
        running = list(self.client.list_instance_ids(code, start, until, statuses=UNFINISHED))
        for key in running:
            yield Listed(key, False, start)
        running = set(running)
        for key in self.client.list_instance_ids(code, since, until):
            if key not in running:
                yield Listed(key, True, since)

    def keys(self, since, until):
        """One unfiltered listing (running instances included), without `list`'s extra one for running ids."""
        return self.client.list_instance_ids(self.params["process_code"], since, until)

    def fetch(self, key):
        data = self.client.get_instance(key)
        data.setdefault("process_instance_id", key)
        return data

    def read_attachment(self, key, file, max_bytes):
        """The bytes of a file attached to approval `key` (for targets that bind files to the bill)."""
        return self.client.download_attachment(key, file["file_id"], max_bytes)

    def verdict(self, data):
        status, result = (data.get("status") or "").upper(), (data.get("result") or "").lower()
        if status in ("NEW", "RUNNING"):
            return Verdict(Verdict.WAIT, code="not_approved_yet", params={"status": status})
        if status == "COMPLETED" and result == "agree":
            action = (data.get("biz_action") or "NONE").upper()
            if action in REPLACEMENTS and not self.params.get("book_replacements"):
                return Verdict(Verdict.PERSON, code="replacement", params={"action": action})
            return Verdict(Verdict.WRITE)
        if status == "COMPLETED" and result == "refuse":
            return Verdict(Verdict.SKIP, code="refused")
        if status == "TERMINATED":
            return Verdict(Verdict.SKIP, code="withdrawn")
        if status == "CANCELED":
            return Verdict(Verdict.SKIP, code="cancelled")
        return Verdict(Verdict.SKIP, code="not_approved", params={"status": status or "—", "result": result or "—"})

    def summary(self, data):
        return {
            "title": (data.get("title") or "")[:200],
            "number": (data.get("business_id") or "")[:64],
            "originator": (data.get("originator_userid") or "")[:64],
            "amount": self._amount(data),
            "time": _moment(data.get("create_time")),
        }

    def _amount(self, data):
        raw = mapping.resolve(data, self.params.get("amount_field") or "")
        try:
            return mapping.parse_decimal(raw).quantize(Decimal("0.01")) if not mapping.is_empty(raw) else None
        except (mapping.MappingError, InvalidOperation):
            return None

    def write_back(self, booked, template):
        """One work notification per originator per batch, naming the bills."""
        by_person = {}
        for data, number in booked:
            userid = data.get("originator_userid")
            if userid:
                fields = {**data, "bill_number": number}
                text = mapping.fill_template(None, {"template": template}, mapping.Context(fields, None, None))
                if data.get("bill_link") and "{bill_link}" not in template:
                    text += "\n\n" + gettext("[Open %(number)s in Kingdee](%(link)s)") % {
                        "number": number, "link": data["bill_link"]}
                by_person.setdefault(userid, []).append(text)
        for userid, lines in by_person.items():
            self.client.send_work_notice([userid], gettext("Expense claim booked"), "\n\n".join(lines))
        return len(by_person)


def _moment(value):
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else None
