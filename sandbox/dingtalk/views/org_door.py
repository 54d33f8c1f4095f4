"""`POST /sandbox/dingtalk/_contacts`: change the org chart the way an administrator would in DingTalk.

Body: `{"action": "add_user" | "update_user" | "leave" | "add_dept" | "move_dept" | "remove_dept", …}` with
user fields named as `topapi/v2/user/get` names them (`userid`, `name`, `job_number`, `mobile`, `title`,
`email`, `dept_id_list`) and departments as `dept_id`, `name`, `parent_id`. `{"changes": [{…}, …]}` applies
several in order and stops at the first refusal. Each change emits its org event (callback and Stream).
"""


from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox.dingtalk import org
from sandbox.dingtalk.models import Department, Employee
from sandbox.dingtalk.views.gate import DoorRefusal, door_changes


@csrf_exempt
@require_POST
def contacts(request):
    try:
        changes, listed = door_changes(request, "changes")
    except DoorRefusal as refusal:
        return refusal.response
    done = []
    for change in changes:
        try:
            done.append(describe(org.apply(change.get("action"), change)))
        except org.Refused as refusal:
            return JsonResponse({"error": str(refusal), "done": done}, status=400)
    return JsonResponse(done[0] if not listed else {"done": done})


def describe(result):
    if isinstance(result, Employee):
        return {"userid": result.userid, "unionid": result.unionid, "name": result.name,
                "job_number": result.job_number, "mobile": result.mobile, "title": result.title,
                "dept_id_list": result.dept_ids(), "active": result.active}
    if isinstance(result, Department):
        return {"dept_id": result.dept_id, "name": result.name, "parent_id": result.parent_id}
    return {"dept_id": result, "removed": True}
