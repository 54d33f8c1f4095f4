"""The imitation 客户管理 (CRM) app: enterprise customers as the v1.0 API serves them (round 2 §6).

Confirmed shapes only: `QueryAllCustomer` (`POST /v1.0/crm/customerInstances`, nextToken paging, ≤ 100 a page,
`createTime`/`modifyTime` names), `CreateCustomer` (`POST /v1.0/crm/customers`, `customerInstanceId` back,
the duplicate check on `customer_name` unless `saveOption.skipDuplicateCheck`), `BatchUpdateRelationDatas`
(`PUT /v1.0/crm/relationDatas/batch`, ≤ 10 customers, a result per customer). Reads see what the operator
may see: an administrator everything, anyone else the customers they own or take part in (§6.4). The
reference confirms no CRM change event, so none is sent: the portal compares on its schedule.

The admin and the JSON door `_crm` change customers the way a salesperson would in DingTalk.
"""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sandbox.dingtalk.models import CrmCustomer, Employee

OBJECT_TYPES = ("crm_customer", "crm_customer_personal", "open_customer_org", "open_customer_personal")
PAGE_MAX, BATCH_MAX, FIELDS_MAX = 100, 10, 256
NAME = "customer_name"
TIME = "%Y-%m-%d %H:%M:%S"


class Refused(Exception):
    """Breaks one of the CRM's rules: `code` as the v1.0 API names it; nothing was changed."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def new_instance_id():
    return secrets.token_hex(8)


def beijing(moment):
    return timezone.localtime(moment, timezone.get_fixed_timezone(480)).strftime(TIME)


def shape(customer):
    """A customer as QueryAllCustomer serves it."""
    return {"instanceId": customer.instance_id, "objectType": customer.object_type,
            "createTime": beijing(customer.created_at), "modifyTime": beijing(customer.modified_at),
            "creatorUserId": customer.creator_userid, "creatorNick": _nick(customer.creator_userid),
            "data": customer.data, "extendData": customer.extend_data,
            "permission": {"ownerStaffIds": customer.owner_userids,
                           "participantStaffIds": customer.participant_userids},
            "processOutResult": "agree", "processInstanceStatus": "COMPLETE"}


def _nick(userid):
    return Employee.objects.filter(userid=userid).values_list("name", flat=True).first() or ""


def operator(userid):
    """The visibility of `userid`: None for everything (an administrator), else their userid."""
    if not userid:
        raise Refused("param.error", "operatorUserId 不能为空")
    employee = Employee.objects.filter(userid=userid, active=True).first()
    if employee is None:
        raise Refused("systemError.notPermittedAccess", "无权限访问")
    return None if employee.admin or employee.boss else employee.userid


def visible(userid, object_type="crm_customer"):
    if object_type not in OBJECT_TYPES:
        raise Refused("invalid.objectType", f"objectType {object_type} 不合法")
    seen_by = operator(userid)
    customers = CrmCustomer.objects.filter(object_type=object_type, deleted=False).order_by("pk")
    if seen_by is None:
        return customers
    return [c for c in customers if seen_by in (c.owner_userids or []) or seen_by in (c.participant_userids or [])]


def page(userid, object_type, max_results, next_token):
    try:
        size, offset = int(max_results or PAGE_MAX), int(next_token or 0)
    except (TypeError, ValueError):
        raise Refused("param.error", "maxResults/nextToken 不合法") from None
    if not 1 <= size <= PAGE_MAX:
        raise Refused("param.error", f"maxResults 取值范围 1-{PAGE_MAX}")
    customers = list(visible(userid, object_type))
    chunk = customers[offset: offset + size]
    result = {"values": [shape(c) for c in chunk], "maxResults": size}
    if offset + size < len(customers):
        result["nextToken"] = str(offset + size)
    return result


def _clean_data(data, partial=False):
    if not isinstance(data, dict):
        raise Refused("param.error", "data 必须是对象")
    if len(data) > FIELDS_MAX:
        raise Refused("param.error", f"字段数超过 {FIELDS_MAX}")
    if not partial and not str(data.get(NAME) or "").strip():
        raise Refused("param.error", "客户名称(customer_name)不能为空")
    if NAME in data and not str(data[NAME] or "").strip():
        raise Refused("param.error", "客户名称(customer_name)不能为空")
    return {key: value for key, value in data.items()}


def _duplicate(name, exclude=None):
    rows = CrmCustomer.objects.filter(deleted=False, data__customer_name=name)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return list(rows.values_list("instance_id", flat=True))


@transaction.atomic
def create(data, *, creator, object_type="crm_customer", owners=None, participants=None, skip_duplicate_check=False,
           instance_id=None):
    if object_type not in ("crm_customer", "crm_customer_personal"):
        raise Refused("invalid.objectType", f"objectType {object_type} 不合法")
    data = _clean_data(data)
    if not creator:
        raise Refused("param.error", "creatorUserId 不能为空")
    if not skip_duplicate_check and _duplicate(data[NAME]):
        raise Refused("duplicated.customer", f"客户“{data[NAME]}”已存在（查重规则）")
    return CrmCustomer.objects.create(
        instance_id=instance_id or new_instance_id(), object_type=object_type, data=data, creator_userid=creator,
        owner_userids=list(owners or [creator]), participant_userids=list(participants or []))


@transaction.atomic
def update(instance_id, data, *, modifier="", skip_duplicate_check=True, owners=None):
    customer = CrmCustomer.objects.select_for_update().filter(instance_id=instance_id, deleted=False).first()
    if customer is None:
        raise Refused("param.error", f"客户 {instance_id} 不存在")
    data = _clean_data(data, partial=True)
    merged = {**customer.data, **data}
    if not skip_duplicate_check and NAME in data and _duplicate(merged[NAME], exclude=customer.pk):
        raise Refused("duplicated.customer", f"客户“{merged[NAME]}”已存在（查重规则）")
    customer.data = {key: value for key, value in merged.items() if value is not None}
    if owners is not None:
        customer.owner_userids = list(owners)
    customer.save()
    return customer


@transaction.atomic
def delete(instance_id):
    customer = CrmCustomer.objects.select_for_update().filter(instance_id=instance_id, deleted=False).first()
    if customer is None:
        raise Refused("param.error", f"客户 {instance_id} 不存在")
    customer.deleted = True
    customer.save()
    return customer


def batch_update(relation_list, *, operator_userid, skip_duplicate_check=True):
    """BatchUpdateRelationDatas: one result per customer, a refused one does not stop the others."""
    operator(operator_userid)
    if not isinstance(relation_list, list) or not relation_list:
        raise Refused("param.error", "relationList 不能为空")
    if len(relation_list) > BATCH_MAX:
        raise Refused("param.error", f"relationList 最多 {BATCH_MAX} 条")
    results = []
    for relation in relation_list:
        relation_id = str((relation or {}).get("relationId") or "")
        items = (relation or {}).get("bizDataList") or []
        try:
            if len(items) > FIELDS_MAX:
                raise Refused("param.error", f"字段数超过 {FIELDS_MAX}")
            data = {str(item.get("key")): item.get("value") for item in items if isinstance(item, dict)}
            update(relation_id, data, modifier=operator_userid, skip_duplicate_check=skip_duplicate_check)
            results.append({"success": True, "relationId": relation_id})
        except Refused as refusal:
            duplicated = _duplicate(str(data.get(NAME) or "")) if refusal.code == "duplicated.customer" else []
            results.append({"success": False, "relationId": relation_id, "errorCode": refusal.code,
                            "errorMsg": refusal.message, "duplicatedRelationIds": duplicated})
    return results


def apply(action, customer):
    """The door `_crm`: {"action": "create" | "update" | "delete", "customer": {instanceId?, data, owner…}}."""
    if not isinstance(customer, dict):
        raise Refused("param.error", "customer 必须是对象")
    instance_id = str(customer.get("instanceId") or customer.get("instance_id") or "")
    data = customer.get("data") if isinstance(customer.get("data"), dict) else {
        key: value for key, value in customer.items() if key not in ("instanceId", "instance_id", "owner",
                                                                      "owners", "creator")}
    owners = customer.get("owners") or ([customer["owner"]] if customer.get("owner") else None)
    if action == "create":
        creator = customer.get("creator") or (owners[0] if owners else "") or _any_admin()
        return create(data, creator=creator, owners=owners, instance_id=instance_id or None,
                      skip_duplicate_check=bool(customer.get("skipDuplicateCheck")))
    if action == "update":
        return update(instance_id, data, owners=owners)
    if action == "delete":
        return delete(instance_id)
    raise Refused("param.error", "action must be create, update or delete")


def _any_admin():
    return Employee.objects.filter(admin=True, active=True).values_list("userid", flat=True).first() or "manager"


def moment_of(text):
    return datetime.strptime(text, TIME)
