"""Work notifications and the custom group robot (reference §6)."""

import hmac
import json
import secrets
from datetime import timedelta

from django.utils import timezone

from integrations.protocol import robot_sign
from sandbox.dingtalk.models import Employee, Robot, RobotMessage, WorkNotice
from sandbox.dingtalk.views.gate import OAPI, Refusal, api, json_response, oapi_ok

NOTICE_TYPES = {"text", "image", "voice", "file", "link", "markdown", "action_card", "oa"}
ROBOT_TYPES = {"text", "link", "markdown", "actionCard", "feedCard"}
ROBOT_PER_MINUTE = 20
ROBOT_PENALTY = timedelta(minutes=10)
SIGN_WINDOW_MS = 3600 * 1000


def _message(params):
    msg = params.get("msg")
    if isinstance(msg, str):
        try:
            msg = json.loads(msg)
        except ValueError:
            raise Refusal(400002, "msg不是合法的JSON") from None
    if not isinstance(msg, dict):
        raise Refusal(40035, "缺少参数 msg")
    if msg.get("msgtype") not in NOTICE_TYPES or not isinstance(msg.get(msg["msgtype"]), dict):
        raise Refusal(400002, "不支持的消息类型")
    if len(json.dumps(msg, ensure_ascii=False).encode()) > 2048:
        raise Refusal(400002, "消息内容超过最大长度2048字节")
    return msg


def _ids(value):
    if isinstance(value, list):
        return [str(v) for v in value if str(v)]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


@api(OAPI, quota=True)
def asyncsend_v2(request):
    p = request.params
    if str(p.get("agent_id", "")) != str(request.app.agent_id):
        raise Refusal(400002, "agent_id不合法")
    msg = _message(p)
    userids, dept_ids = _ids(p.get("userid_list")), _ids(p.get("dept_id_list"))
    to_all = str(p.get("to_all_user", "false")).lower() == "true"
    if len(userids) > 100 or len(dept_ids) > 20:
        raise Refusal(400002, "userid_list最多100个，dept_id_list最多20个")
    if not (to_all or userids or dept_ids):
        raise Refusal(40035, "缺少参数 userid_list")
    notice = WorkNotice.objects.create(
        task_id=secrets.randbelow(9 * 10**11) + 10**11, app=request.app, userids=userids, dept_ids=dept_ids,
        to_all_user=to_all, msgtype=msg["msgtype"], msg=msg, send_result=_send_result(request.app, userids, msg),
    )
    # Limits drop messages silently: the call still succeeds (reference §6.1).
    return oapi_ok(task_id=notice.task_id)


def _send_result(app, userids, msg):
    known = set(Employee.objects.filter(userid__in=userids, active=True).values_list("userid", flat=True))
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = WorkNotice.objects.filter(app=app, created_at__gte=today).values_list("msg", "userids")
    already = {u for content, recipients in earlier if content == msg for u in recipients}
    duplicates = [u for u in userids if u in known and u in already]
    delivered = [u for u in userids if u in known and u not in already]
    return {
        "invalid_user_id_list": [u for u in userids if u not in known], "forbidden_user_id_list": duplicates,
        "failed_user_id_list": [], "read_user_id_list": [], "unread_user_id_list": delivered,
        "invalid_dept_id_list": [], "forbidden_list": [{"code": "143106", "count": 1, "userid": u} for u in duplicates],
    }


@api(OAPI, quota=True)
def getsendresult(request):
    p = request.params
    notice = WorkNotice.objects.filter(app=request.app, task_id=_int(p.get("task_id"))).first()
    if notice is None or str(p.get("agent_id", "")) != str(request.app.agent_id):
        raise Refusal(400002, "task_id不存在")
    return oapi_ok(send_result=notice.send_result)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@api(OAPI, auth=False)
def robot_send(request):
    token = request.GET.get("access_token", "")
    if not token:
        raise Refusal(400101, "access_token is missing")
    robot = Robot.objects.filter(access_token=token).first()
    if robot is None:
        raise Refusal(300005, "token is not exist")
    if robot.secret:
        _check_sign(robot, request.GET.get("timestamp", ""), request.GET.get("sign", ""))
    if request.content_type != "application/json":
        raise Refusal(43004, "无效的HTTP HEADER Content-Type")
    body = request.params
    if body.get("msgtype") not in ROBOT_TYPES:
        raise Refusal(400105, "不支持的消息类型")
    uuid = str(body.get("msgUuid") or "")
    if uuid and robot.messages.filter(msg_uuid=uuid).exists():
        return _robot_ok()  # a retried message is not posted twice
    _check_rate(robot)
    RobotMessage.objects.create(robot=robot, msgtype=body["msgtype"], body=body, msg_uuid=uuid)
    return _robot_ok()


def _robot_ok():
    return json_response({"errcode": 0, "errmsg": "ok"})


def _check_sign(robot, timestamp, sign):
    try:
        sent = int(timestamp)
    except ValueError:
        raise Refusal(310000, "invalid timestamp") from None
    if abs(timezone.now().timestamp() * 1000 - sent) > SIGN_WINDOW_MS:
        raise Refusal(310000, "invalid timestamp")
    if not hmac.compare_digest(robot_sign(robot.secret, timestamp), sign):
        raise Refusal(310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]")


def _check_rate(robot):
    now = timezone.now()
    if robot.penalty_until and robot.penalty_until > now:
        raise Refusal(410100, "发送速度太快而限流")
    if robot.messages.filter(created_at__gt=now - timedelta(minutes=1)).count() >= ROBOT_PER_MINUTE:
        Robot.objects.filter(pk=robot.pk).update(penalty_until=now + ROBOT_PENALTY)
        raise Refusal(410100, "发送速度太快而限流")
