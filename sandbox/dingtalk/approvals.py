"""Every change to a sandbox approval goes through here, so event pushes are hooked in one place."""

import random
import uuid
from datetime import timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from sandbox.dingtalk import events
from sandbox.dingtalk.models import ApprovalInstance, Comment

Status = ApprovalInstance.Status


class Action:
    AGREE = "agree"
    REFUSE = "refuse"
    TERMINATE = "terminate"
    CANCEL = "cancel"

    ALL = (AGREE, REFUSE, TERMINATE, CANCEL)


def _iso(moment):
    return moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@transaction.atomic
def change_state(instance, action, remark="", at=None):
    """Finish a RUNNING instance: its open task decides (agree, refuse) or the originator withdraws.

    Returns True if the instance changed. Approving completes the instance in one step
    (the sandbox does not model multi-level routing beyond the seeded history).
    """
    if action not in Action.ALL:
        raise ValueError(f"unknown action {action!r}")
    instance = ApprovalInstance.objects.select_for_update().get(pk=instance.pk)
    if instance.status != Status.RUNNING:
        return False
    at = at or timezone.now()
    task = _open_task(instance, at)
    if action in (Action.AGREE, Action.REFUSE):
        result = "AGREE" if action == Action.AGREE else "REFUSE"
        task.update(status="COMPLETED", result=result, finish_time=_iso(at))
        instance.operation_records.append(_record(task["userid"], at, "EXECUTE_TASK_NORMAL", result, remark))
        instance.status, instance.result = Status.COMPLETED, action
    else:
        task.update(status="CANCELED", result="NONE", finish_time=_iso(at))
        instance.operation_records.append(
            _record(instance.originator.userid, at, "TERMINATE_PROCESS_INSTANCE", "NONE", remark))
        instance.status = Status.TERMINATED if action == Action.TERMINATE else Status.CANCELED
        instance.result = ""
    instance.finish_time = at
    instance.save(update_fields=["status", "result", "finish_time", "operation_records", "tasks"])
    events.approval_finished(instance, task, action, remark)  # delivered once this transaction commits
    return True


@transaction.atomic
def start(template, originator, dept, form_values, approvers, cc_userids=(), at=None):
    """A new RUNNING instance, its first approver's task open (what topapi/processinstance/create does)."""
    at = at or timezone.now()
    instance = ApprovalInstance.objects.create(
        process_instance_id=str(uuid.uuid4()), template=template, title=f"{originator.name}提交的{template.name}",
        business_id=timezone.localtime(at).strftime("%Y%m%d%H%M") + f"{random.randint(0, 10**9 - 1):09d}",
        originator=originator, originator_dept_id=str(dept.dept_id), originator_dept_name=dept.name,
        create_time=at, approver_userids=list(approvers), cc_userids=list(cc_userids), form_values=form_values,
        operation_records=[_record(originator.userid, at, "START_PROCESS_INSTANCE", "NONE")],
    )
    task = {"task_id": 80000000000 + instance.pk, "userid": approvers[0], "activity_id": "sandbox",
            "status": "RUNNING", "result": "NONE", "create_time": _iso(at)}
    instance.tasks = [task]
    instance.save(update_fields=["tasks"])
    events.approval_started(instance, task)
    return instance


def _open_task(instance, at):
    for task in instance.tasks:
        if task["status"] in ("NEW", "RUNNING"):
            return task
    userid = (instance.approver_userids or [instance.originator.userid])[-1]
    task = {"task_id": 90000000000 + instance.pk, "userid": userid, "activity_id": "sandbox",
            "status": "RUNNING", "result": "NONE", "create_time": _iso(at)}
    instance.tasks.append(task)
    return task


def _record(userid, at, kind, result, remark=""):
    record = {"userid": userid, "date": _iso(at), "type": kind, "result": result}
    if remark:
        record["remark"] = remark
    return record


@transaction.atomic
def add_comment(instance, userid, text):
    """A comment is stored and also shows in the instance's operation records, as DingTalk does."""
    instance = ApprovalInstance.objects.select_for_update().get(pk=instance.pk)
    now = timezone.now()
    instance.operation_records.append(_record(userid, now, "ADD_REMARK", "NONE", text))
    instance.save(update_fields=["operation_records"])
    return Comment.objects.create(instance=instance, userid=userid, text=text)
