"""CRM customer APIs (round 2 §6) and the door `_crm`."""


from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox.dingtalk import crm
from sandbox.dingtalk.views.gate import V1, DoorRefusal, Refusal, api, door_changes, json_response


def _refuse(refusal):
    return Refusal(refusal.code, refusal.message, status=400)


@api(V1)
def customer_instances(request):
    """QueryAllCustomer 分页获取全量客户数据."""
    p = request.params
    try:
        result = crm.page(p.get("operatorUserId"), p.get("objectType") or "crm_customer", p.get("maxResults"),
                          p.get("nextToken"))
    except crm.Refused as refusal:
        raise _refuse(refusal) from None
    return json_response({"result": result})


@api(V1)
def customers(request):
    """CreateCustomer: the customer (contacts are not kept by the sandbox)."""
    p = request.params
    option = p.get("saveOption")
    if not isinstance(option, dict):
        raise Refusal("param.error", "saveOption 不能为空")
    permission = p.get("permission") or {}
    try:
        crm.operator(p.get("creatorUserId"))
        customer = crm.create(p.get("data"), creator=p.get("creatorUserId"), object_type=p.get("objectType") or
                              "crm_customer", owners=permission.get("ownerStaffIds"),
                              participants=permission.get("participantStaffIds"),
                              skip_duplicate_check=bool(option.get("skipDuplicateCheck")))
    except crm.Refused as refusal:
        raise _refuse(refusal) from None
    return json_response({"customerInstanceId": customer.instance_id, "objectType": customer.object_type,
                          "contacts": []})


@api(V1, methods=("PUT",))
def relation_datas_batch(request):
    """BatchUpdateRelationDatas: ≤ 10 customers, one result each."""
    p = request.params
    try:
        results = crm.batch_update(p.get("relationList"), operator_userid=p.get("operatorUserId"),
                                   skip_duplicate_check=bool(p.get("skipDuplicateCheck", True)))
    except crm.Refused as refusal:
        raise _refuse(refusal) from None
    return json_response({"results": results})


@csrf_exempt
@require_POST
def door(request):
    """`POST /sandbox/dingtalk/_crm` {"action": "create" | "update" | "delete", "customer": {…}}; or
    {"changes": [{action, customer}, …]} in order, stopping at the first refusal."""
    try:
        changes, listed = door_changes(request, "changes")
    except DoorRefusal as refusal:
        return refusal.response
    done = []
    for change in changes:
        try:
            customer = crm.apply(change.get("action"), change.get("customer"))
        except crm.Refused as refusal:
            return JsonResponse({"error": refusal.message, "code": refusal.code, "done": done}, status=400,
                                json_dumps_params={"ensure_ascii": False})
        done.append({**crm.shape(customer), "deleted": customer.deleted})
    return JsonResponse(done[0] if not listed else {"done": done}, json_dumps_params={"ensure_ascii": False})
