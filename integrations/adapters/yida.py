"""DingTalk Yida (宜搭) as a source: the instances of one form, by modified-time cursor, page by page.

Round 2 §4. `SearchFormDatas` returns whole instances, so each listed row carries its data and is never fetched
again. Its time filters are dates (`yyyy-MM-dd`) whose zone is unconfirmed: the listing starts `overlap_days`
before the cursor and ends the day after `until`; records seen again cost nothing when unchanged (the target is
`kingdee.bill_upsert`, which compares payloads), and a changed instance updates the bill it made.

A record for mapping: the instance's own fields at the top (`form_instance_id`, `title`, `serial_no`,
`originator_userid`, `modified_time_gmt` as DingTalk sent it and `modified_at` read as Beijing time, …), every
`formData` value by its field id (`textField_…`), and under `form` the same values by their labels, read from the
form's definition: sub-tables (`tableField_…`) become lists of rows keyed by their columns' labels (and ids), so
`订单明细[].数量` maps one entry row per sub-table row. Member fields read as their userids, comma-separated.

Process (流程, approval) forms: with `form_kind` "process" the instances come from `GetInstances` (the same
modified-time window, `pageNumber` paging) and `GetInstanceById`, keyed by `processInstanceId`; the record also
carries `instance_status` and `approved_result`. Only an instance COMPLETED with `agree` is booked; a running one
waits (listed as unfinished, so the cursor does not pass it), a refused, terminated or failed one is skipped with
its reason.
"""

import time
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.translation import gettext, gettext_lazy as _

from integrations import mapping
from integrations.adapters.base import Listed, Param, SourceAdapter, Verdict, register_source
from integrations.clients.dingtalk_yida import YIDA_PAGE, YIDA_REACH

BEIJING = ZoneInfo("Asia/Shanghai")
GMT = "%Y-%m-%d %H:%M:%S"
DEFINITIONS_SECONDS = 600  # a form's definition is read at most every ten minutes per process
_definitions = {}  # (app type, form uuid) → (read at, {field id: (label, component, parent id)})
MEMBER_PREFIXES = ("employeeField", "departmentSelectField", "departmentField")
FORM, PROCESS = "form", "process"


@register_source
class YidaSource(SourceAdapter):
    kind = "dingtalk.yida"
    label = _("Yida form instances")
    connection_kind = "dingtalk"
    settings_schema = {
        "form_uuid": Param(_("Yida form (formUuid, FORM-…)"), required=True),
        "form_kind": Param(_("kind of form"), default=FORM, choices=(
            (FORM, _("form: every instance, as it is saved")),
            (PROCESS, _("process (approval) form: an instance once it is approved")))),
        "user_id": Param(_("acting DingTalk userid (a member who may read the app)"), required=True),
        "amount_field": Param(_("amount field shown in the ledger"), default=""),
        "overlap_days": Param(_("days read again before the cursor"), int, default=1),
        "page_size": Param(_("instances per page (at most 100)"), int, default=YIDA_PAGE),
    }

    @classmethod
    def check(cls, params):
        problems = super().check(params)
        if isinstance(params, dict):
            size = params.get("page_size")
            if size is not None and (not isinstance(size, int) or not 1 <= size <= YIDA_PAGE):
                problems.append(gettext("“page_size” must be a whole number from 1 to 100."))
            overlap = params.get("overlap_days")
            if overlap is not None and (not isinstance(overlap, int) or not 0 <= overlap <= 30):
                problems.append(gettext("“overlap_days” must be a whole number from 0 to 30."))
            uuid = params.get("form_uuid")
            if isinstance(uuid, str) and uuid and not uuid.startswith("FORM-"):
                problems.append(gettext("“form_uuid” starts with FORM-."))
        return problems

    # --- reading -------------------------------------------------------------------------------

    @property
    def process(self):
        return self.params.get("form_kind") == PROCESS

    def list(self, since, until, recheck_since=None):
        components = self.components()
        first = min(since, recheck_since) if self.process and recheck_since else since  # running ones re-read
        start = first.astimezone(BEIJING) - timedelta(days=self.params["overlap_days"])
        end = until.astimezone(BEIJING) + timedelta(days=1)
        size, page = self.params["page_size"], 1
        search = self.client.yida_processes if self.process else self.client.yida_search
        while True:
            body = search(self.params["form_uuid"], self.params["user_id"], modified_from=f"{start:%Y-%m-%d}",
                          modified_to=f"{end:%Y-%m-%d}", page=page, page_size=size)
            rows = body.get("data") or []
            for row in rows:
                record = normalise(row, components)
                finished = record["instance_status"] not in ("RUNNING", "NEW") if self.process else True
                yield Listed(record["form_instance_id"], finished, since, data=record)
            total = int(body.get("totalCount") or 0)
            if not rows or page * size >= min(total, YIDA_REACH):
                return
            page += 1

    def keys(self, since, until):
        return (listed.key for listed in self.list(since, until))

    def fetch(self, key):
        read = self.client.yida_process if self.process else self.client.yida_instance
        return normalise(read(key, self.params["user_id"]), self.components(), key)

    def verdict(self, data):
        if not self.process:
            return Verdict(Verdict.WRITE)
        status, result = data.get("instance_status") or "", data.get("approved_result") or ""
        if status in ("RUNNING", "NEW"):
            return Verdict(Verdict.WAIT, code="not_approved_yet", params={"status": status})
        if status == "COMPLETED" and result == "agree":
            return Verdict(Verdict.WRITE)
        if status == "COMPLETED" and result == "disagree":
            return Verdict(Verdict.SKIP, code="refused")
        if status == "TERMINATED":
            return Verdict(Verdict.SKIP, code="withdrawn")
        return Verdict(Verdict.SKIP, code="not_approved", params={"status": status or "—", "result": result or "—"})

    def components(self):
        """{field id: (label, component, parent id)} of the form, remembered in this process or read (one call)."""
        cache_key = (getattr(self.client, "yida_app_type", ""), self.params["form_uuid"])
        read_at, found = _definitions.get(cache_key, (0.0, None))
        if found is None or time.monotonic() - read_at > DEFINITIONS_SECONDS:
            items = self.client.yida_definitions(self.params["form_uuid"], self.params["user_id"])
            found = {item["fieldId"]: (item.get("label") or item["fieldId"], item.get("componentName") or "",
                                       item.get("parentId") or "") for item in items if item.get("fieldId")}
            _definitions[cache_key] = (time.monotonic(), found)
        return found

    def summary(self, data):
        return {"title": str(data.get("title") or "")[:200], "number": str(data.get("serial_no") or "")[:64],
                "originator": str(data.get("originator_userid") or "")[:64], "amount": self._amount(data),
                "time": _moment(data.get("created_time_gmt"))}

    def _amount(self, data):
        field = self.params.get("amount_field")
        if not field:
            return None
        raw = mapping.resolve(data, field)
        try:
            return mapping.parse_decimal(raw).quantize(Decimal("0.01")) if not mapping.is_empty(raw) else None
        except (mapping.MappingError, InvalidOperation):
            return None


def normalise(row, components, key=""):
    """A search row (or a get-by-id answer) as a record for mapping (see the module's text)."""
    originator = row.get("originator") or {}
    name = originator.get("userName") or originator.get("name") or {}
    modified = row.get("modifiedTimeGMT") or ""
    data = dict(row.get("formData") or row.get("data") or {})  # process instances carry `data`
    record = {
        "form_instance_id": row.get("formInstanceId") or row.get("formInstId") or row.get("processInstanceId") or key,
        "process_instance_id": row.get("processInstanceId") or "", "process_code": row.get("processCode") or "",
        "instance_status": str(row.get("instanceStatus") or "").upper(),
        "approved_result": str(row.get("approvedResult") or "").lower(),
        "form_uuid": row.get("formUuid") or "", "title": row.get("title") or "",
        "serial_no": row.get("serialNo") or row.get("serialNumber") or "", "version": row.get("version"),
        "data_id": row.get("dataId") or row.get("id"),
        "created_time_gmt": row.get("createdTimeGMT") or row.get("createTimeGMT") or "",
        "modified_time_gmt": modified, "modified_at": _iso(modified),
        "originator_userid": originator.get("userId") or row.get("creatorUserId") or "",
        "originator_name": name.get("nameInChinese") or "" if isinstance(name, dict) else str(name),
        "modifier_userid": row.get("modifierUserId") or (row.get("modifyUser") or {}).get("userId") or "",
    }
    form = {}
    for field_id, value in data.items():
        label, component, parent = components.get(field_id, (field_id, "", ""))
        if parent:
            continue
        if isinstance(value, list) and (component == "TableField" or field_id.startswith("tableField")):
            value = [_row(item, components) for item in value if isinstance(item, dict)]
        else:
            value = _value(field_id, component, value)
        form.setdefault(label, value)
        data[field_id] = value
    for field_id, value in data.items():
        record.setdefault(field_id, value)
    record["form"] = form
    return record


def _row(item, components):
    row = {}
    for field_id, value in item.items():
        label, component, _parent = components.get(field_id, (field_id, "", ""))
        value = _value(field_id, component, value)
        row[field_id] = value
        row.setdefault(label, value)
    return row


def _value(field_id, component, value):
    if isinstance(value, list) and (component in ("EmployeeField", "DepartmentSelectField")
                                    or field_id.startswith(MEMBER_PREFIXES)):
        return ",".join(str(item) for item in value)
    return value


def _iso(text):
    moment = _moment(text)
    return moment.isoformat() if moment else ""


def _moment(text):
    """A `*TimeGMT` text read as Beijing wall time (its zone is unconfirmed, round 2 §4.3)."""
    try:
        return datetime.strptime(str(text), GMT).replace(tzinfo=BEIJING) if text else None
    except ValueError:
        return None
