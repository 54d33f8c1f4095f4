"""Customers both ways: DingTalk CRM customers (round 2 §6) ⇄ Kingdee BD_Customer (round 2 §4, §7.6).

Both sides are read whole on every run (a few thousand customers at most: one paged listing each) and
`integrations.engine.twoway.TwoWayBooking` pairs, compares and writes. These adapters only speak to the remotes:

- `CrmSource` (`dingtalk.crm`): QueryAllCustomer with nextToken paging (≤ 100 a page) as an operator who sees
  every customer (an administrator: reads respect data permission); CreateCustomer; BatchUpdateRelationDatas
  (≤ 10 customers a call, a result per customer). A customer is never deleted: one forbidden in Kingdee gets
  a flag field. Values of the form's `data` may be objects `{"value", "extendValue"}`: read as their value.
- `CustomerTarget` (`kingdee.customer`): ExecuteBillQuery of the form's fields, BatchSave to create (number from
  the coding rule unless the mapping gives one), Save with `FCUSTID` + `NeedUpDateFields` for the changed
  fields only, `ExcuteOperation` Forbid when a customer was removed in DingTalk.

The scheme's target settings carry the signed master rule per field (`master_rules`: field → dingtalk,
kingdee or newest) and what to do with a change on the side that is not master (`on_violation`).
"""

from datetime import datetime

from django.utils.translation import gettext, gettext_lazy as _

from integrations.adapters.base import Listed, Outcome, Param, SourceAdapter, TargetAdapter, register_source, \
    register_target
from integrations.adapters.kingdee import quote
from integrations.adapters.masterdata import scalar
from integrations.clients.errors import BusinessError

PAGE, UPDATE_CHUNK, SAVE_CHUNK = 100, 10, 50
OWNER = "owner"  # the customer's 负责人 (permission.ownerStaffIds[0]), beside the form's data keys
INSTANCE = "instanceId"
MODIFIED = "modifyTime"
MASTERS = ("dingtalk", "kingdee", "newest")


def plain(value):
    """A CRM data value as text: `{"value": …}` objects by their value, lists joined."""
    if isinstance(value, dict):
        value = value.get("value", "")
    if isinstance(value, list):
        return ",".join(plain(item) for item in value)
    return "" if value is None else str(value)


def moment(text):
    """A remote's local time ('yyyy-MM-dd HH:mm:ss' or ISO), naive, for "newest change wins"; None if unreadable."""
    text = str(text or "").strip().replace("T", " ")[:19]
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


@register_source
class CrmSource(SourceAdapter):
    kind = "dingtalk.crm"
    label = _("DingTalk CRM customers (two-way)")
    connection_kind = "dingtalk"
    windowed = False
    settings_schema = {
        "operator_userid": Param(_("operator (an administrator's userid: reads see every customer)"), default=""),
        "object_type": Param(_("customer object type"), default="crm_customer",
                             choices=(("crm_customer", _("enterprise customers")),)),
        "flag_field": Param(_("field marked when the customer is forbidden in Kingdee"), default="kingdee_status"),
        "flag_value": Param(_("the mark"), default="金蝶已禁用"),
    }

    @property
    def operator(self):
        operator = str(self.params.get("operator_userid") or "").strip()
        if not operator:
            raise BusinessError(gettext("Set the CRM operator (an administrator's userid) in the source settings."),
                                system="dingtalk")
        return operator

    # --- reading ----------------------------------------------------------------------------

    def customers(self):
        """{instance id: record} of every customer the operator sees: the form's data as text, `owner`,
        `instanceId`, `modifyTime`."""
        body = {"operatorUserId": self.operator, "objectType": self.params["object_type"], "maxResults": PAGE}
        found = {}
        while True:
            result = self.client._v1("POST", "v1.0/crm/customerInstances", body).get("result") or {}
            for value in result.get("values") or []:
                found[str(value["instanceId"])] = self.record(value)
            if not result.get("nextToken"):
                return found
            body["nextToken"] = result["nextToken"]

    def record(self, value):
        owners = (value.get("permission") or {}).get("ownerStaffIds") or []
        data = {str(key): plain(item) for key, item in (value.get("data") or {}).items()}
        return {**data, INSTANCE: str(value["instanceId"]), OWNER: str(owners[0]) if owners else "",
                MODIFIED: str(value.get("modifyTime") or value.get("gmtModified") or "")}

    def list(self, since, until, recheck_since=None):
        for key, record in self.customers().items():
            yield Listed(key, True, data=record)

    def fetch(self, key):
        record = self.customers().get(str(key))
        if record is None:
            raise BusinessError(gettext("No CRM customer %(key)s.") % {"key": key}, system="dingtalk")
        return record

    def summary(self, data):
        return {"title": str(data.get("customer_name") or "")[:200], "number": "", "amount": None, "time": None,
                "originator": str(data.get(OWNER) or "")[:64]}

    # --- writing ----------------------------------------------------------------------------

    def create(self, data, owner=""):
        """A new customer; returns its instance id. Duplicates by name are refused by the org's 查重规则."""
        fields = {key: value for key, value in data.items() if key not in (OWNER, INSTANCE, MODIFIED)}
        owner = str(data.get(OWNER) or owner or self.operator)
        body = {"objectType": self.params["object_type"], "creatorUserId": self.operator, "data": fields,
                "permission": {"ownerStaffIds": [owner], "participantStaffIds": []},
                "saveOption": {"skipDuplicateCheck": False, "customerExistedPolicy": "REJECT",
                               "subscribePolicy": {}, "throwExceptionWhileSavingContactFailed": False}}
        return str(self.client._v1("POST", "v1.0/crm/customers", body)["customerInstanceId"])

    def update(self, items):
        """`items`: [(instance id, {data key: value})]; {instance id: "" when written, else the refusal}."""
        answers = {}
        for start in range(0, len(items), UPDATE_CHUNK):
            chunk = items[start:start + UPDATE_CHUNK]
            body = {"relationType": self.params["object_type"], "operatorUserId": self.operator,
                    "skipDuplicateCheck": True, "relationList": [
                        {"relationId": key, "bizDataList": [{"key": name, "value": value}
                                                            for name, value in data.items()]} for key, data in chunk]}
            results = self.client._v1("PUT", "v1.0/crm/relationDatas/batch", body).get("results") or []
            by_id = {str(result.get("relationId")): result for result in results}
            for key, _data in chunk:
                result = by_id.get(key) or {"success": False, "errorMsg": "no result"}
                answers[key] = "" if result.get("success") else str(result.get("errorMsg") or result.get("errorCode"))
        return answers

    def flag(self, keys):
        """Mark customers forbidden or removed in Kingdee (never deleted)."""
        return self.update([(key, {self.params["flag_field"]: self.params["flag_value"]}) for key in keys])


@register_target
class CustomerTarget(TargetAdapter):
    kind = "kingdee.customer"
    label = _("Kingdee customers (two-way with DingTalk CRM)")
    connection_kind = "kingdee"
    mode = TargetAdapter.TWOWAY
    settings_schema = {
        "form_id": Param(_("form id"), default="BD_Customer"),
        "master_rules": Param(_("master per field (signed on the scheme page)"), dict, default={}),
        "on_violation": Param(_("a change on the side that is not master"), default="restore", choices=(
            ("restore", _("put it back")), ("queue", _("hold it for a person")))),
        "tax_field": Param(_("field paired first (tax number)"), default="FSOCIALCRECODE"),
        "name_field": Param(_("field paired next (name)"), default="FName"),
        "audit": Param(_("submit and audit new customers"), bool, default=True),
    }

    @classmethod
    def check(cls, params):
        problems = super().check(params)
        rules = params.get("master_rules") if isinstance(params, dict) else None
        if isinstance(rules, dict) and any(value not in MASTERS for value in rules.values()):
            problems.append(gettext("A master must be dingtalk, kingdee or newest."))
        return problems

    @property
    def form_id(self):
        return self.params["form_id"]

    def find(self, keys):
        """The one-way loop's reconciliation never applies to a two-way scheme."""
        return {}

    def customers(self, fields):
        """{number: {"_id", "_forbidden", "_modified", field: text}} of every customer; `fields` maps each flat
        field to whether it is a reference (read as `.FNumber`). One row per customer (after allocation a
        customer has one row per using organisation: the first stands for it)."""
        names = list(fields)
        keys = ["FCUSTID", "FNumber", "FForbidStatus", "FModifyDate"] + [
            f"{name}.FNumber" if fields[name] else name for name in names]
        found = {}
        for values in self.client.query_all(self.form_id, keys, "", "FCUSTID ASC", page_size=2000):
            number = str(values[1])
            if number in found:
                continue
            found[number] = {"_id": values[0], "_forbidden": str(values[2]) == "B", "_modified": str(values[3] or ""),
                             **{name: scalar(value) for name, value in zip(names, values[4:])}}
        return found

    def create(self, models):
        """New customers (BatchSave, submitted and audited): one Outcome each, in order."""
        outcomes = []
        for start in range(0, len(models), SAVE_CHUNK):
            chunk = models[start:start + SAVE_CHUNK]
            options = {"IsAutoSubmitAndAudit": bool(self.params["audit"]), "IsDeleteEntry": "false"}
            for result in self.client.batch_save(self.form_id, chunk, **options):
                outcomes.append(self.outcome(result))
        return outcomes

    def update(self, items):
        """`items`: [(internal id, {field: value})], changed fields only (NeedUpDateFields), grouped by the set of
        fields so one BatchSave carries many customers. {internal id: Outcome}."""
        groups = {}
        for pk, fields in items:
            groups.setdefault(tuple(sorted(fields)), []).append((pk, fields))
        answers = {}
        for names, group in groups.items():
            for start in range(0, len(group), SAVE_CHUNK):
                chunk = group[start:start + SAVE_CHUNK]
                models = [{"FCUSTID": int(pk), **fields} for pk, fields in chunk]
                results = self.client.batch_save(self.form_id, models, NeedUpDateFields=list(names),
                                                 IsDeleteEntry="false")
                for (pk, _fields), result in zip(chunk, results):
                    answers[pk] = self.outcome(result)
        return answers

    def forbid(self, numbers):
        """{number: Outcome}; one already forbidden or gone counts as done."""
        answers = {}
        for number, result in zip(numbers, self.client.forbid(self.form_id, numbers) if numbers else []):
            gone = any("不存在" in (error.get("message") or "") for error in result.errors or [])
            message = "；".join(error.get("message") or "" for error in result.errors or [])
            answers[number] = Outcome(result.ok or gone, str(result.id or ""), number, message=message)
        return answers

    def outcome(self, result):
        message = "；".join(error.get("message") or "" for error in result.errors or [])
        return Outcome(bool(result.ok), str(result.id or ""), str(result.number or ""), message=message,
                       code="" if result.ok else "target_refused", params={} if result.ok else {"message": message})

    def exists(self, field, values):
        """The numbers of customers whose `field` is one of `values` (a look before creating)."""
        values = [value for value in values if value]
        if not values:
            return {}
        wanted = f"{field} in ({','.join(quote(value) for value in values)})"
        return {str(value): str(number) for number, value in
                self.client.query_all(self.form_id, ["FNumber", field], wanted, "", page_size=2000)}
