"""Approval events as DingTalk sends them (reference §4.4), written to an outbox in the same transaction
as the change they describe, and delivered after the commit by HTTP push (push.py) or Stream (stream.py).

Each app with a push mode gets its own copy of every event, with its own event id, as DingTalk does for
every app subscribed to the org's approval events.
"""

import uuid

from django.db import transaction
from django.utils import timezone

from sandbox.dingtalk.models import App, PushedEvent

INSTANCE_CHANGE = "bpms_instance_change"
TASK_CHANGE = "bpms_task_change"
# The HTTP body's envelope; a Stream frame carries these in its headers and the rest in `data`.
ENVELOPE = ("EventType", "EventTime", "CorpId", "BizId", "eventId")


def millis(moment):
    return int(moment.timestamp() * 1000)


def approval_started(instance, task):
    """A new instance: its start, and the first approver's task."""
    emit(INSTANCE_CHANGE, instance, _instance_body(instance, "start"))
    emit(TASK_CHANGE, instance, _task_body(instance, task, "start"))


def approval_finished(instance, task, action, remark=""):
    """The open task was decided (agree, refuse) or the originator withdrew the instance."""
    if action in ("agree", "refuse"):
        emit(TASK_CHANGE, instance, _task_body(instance, task, "finish", action, remark))
        emit(INSTANCE_CHANGE, instance, _instance_body(instance, "finish", action))
    else:
        emit(TASK_CHANGE, instance, _task_body(instance, task, "cancel"))
        emit(INSTANCE_CHANGE, instance, _instance_body(instance, "terminate"))


def emit(event_type, instance, data):
    """Queue one approval event for every app that pushes events; they go out once the transaction commits."""
    summary = "/".join(filter(None, [data.get("type"), data.get("result")]))
    return emit_event(event_type, instance.process_instance_id, data, summary, instance.process_instance_id)


def emit_event(event_type, biz_id, data, summary="", instance_id=""):
    """Queue one event of any kind (approval, org change) for every app that pushes events."""
    now = timezone.now()
    rows = []
    for app in App.objects.exclude(push_mode=""):
        if app.push_mode == App.PushMode.HTTP and not app.callback_url:
            continue
        event_id = uuid.uuid4().hex
        body = {"EventType": event_type, "EventTime": millis(now), "CorpId": app.corp_id,
                "BizId": str(biz_id), "eventId": event_id, **data}
        rows.append(PushedEvent(app=app, channel=app.push_mode, event_id=event_id, event_type=event_type,
                                process_instance_id=instance_id, summary=summary[:40], body=body,
                                next_attempt_at=now))
    PushedEvent.objects.bulk_create(rows)
    if any(row.channel == App.PushMode.HTTP for row in rows):
        from sandbox.dingtalk import push

        ids = [row.event_id for row in rows if row.channel == App.PushMode.HTTP]
        transaction.on_commit(lambda: push.pusher.wake(ids))
    return rows


def stream_data(body):
    """The `data` of a Stream EVENT frame: the HTTP body without its envelope."""
    return {key: value for key, value in body.items() if key not in ENVELOPE}


def _instance_body(instance, kind, result=""):
    body = {
        "processInstanceId": instance.process_instance_id, "processCode": instance.template.process_code,
        "bizCategoryId": "", "businessId": instance.business_id, "businessType": "", "title": instance.title,
        "type": kind, "staffId": instance.originator.userid, "createTime": millis(instance.create_time),
        "url": f"https://aflow.dingtalk.com/dingtalk/mobile/homepage.htm?dinghash=approval&procInstId="
               f"{instance.process_instance_id}",
    }
    if result:
        body["result"] = result
    if kind != "start" and instance.finish_time:
        body["finishTime"] = millis(instance.finish_time)
    return body


def _task_body(instance, task, kind, result="", remark=""):
    body = {
        "processInstanceId": instance.process_instance_id, "processCode": instance.template.process_code,
        "bizCategoryId": "", "businessId": instance.business_id, "title": instance.title, "type": kind,
        "staffId": task["userid"], "taskId": int(task["task_id"]), "activityId": task.get("activity_id", ""),
        "createTime": millis(instance.create_time),
    }
    if result:
        body.update(result=result, remark=remark)
    if kind != "start":
        body["finishTime"] = millis(instance.finish_time or timezone.now())
    return body
