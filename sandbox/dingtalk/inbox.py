"""Every robot message and work notice the sandbox received, in one readable shape.

`GET /sandbox/dingtalk/_messages?since=<ms>` answers `{"messages": [{"channel", "to", "msgtype", "title", "text",
"links", "time"}]}`, oldest first; the admin shows the same title, text and links.
"""

import re
from datetime import datetime, timezone

from sandbox.dingtalk.models import RobotMessage, WorkNotice

MARKDOWN_LINK = re.compile(r"\]\((https?://[^)\s]+)\)")


def readable(msgtype, body):
    """(title, text, links) of one message body of either channel."""
    part = body.get(msgtype) if isinstance(body.get(msgtype), dict) else {}
    title = str(part.get("title") or "")
    text = str(part.get("text") or part.get("markdown") or part.get("content") or "")
    links = [part.get(key) for key in ("singleURL", "single_url", "messageUrl", "message_url", "messageURL")]
    links += [button.get("actionURL") or button.get("action_url") for button in
              (part.get("btns") or part.get("btn_json_list") or []) if isinstance(button, dict)]
    if msgtype == "oa":
        head, oa_body = part.get("head") or {}, part.get("body") or {}
        title = str(oa_body.get("title") or head.get("text") or "")
        text = str(oa_body.get("content") or "")
    if msgtype == "feedCard":
        links += [link.get("messageURL") for link in part.get("links") or [] if isinstance(link, dict)]
    links = MARKDOWN_LINK.findall(text) + [link for link in links if link]
    return title, text, list(dict.fromkeys(links))


def _ms(moment):
    return int(moment.timestamp() * 1000)


def robot_entry(message):
    title, text, links = readable(message.msgtype, message.body)
    return {"channel": "robot", "to": message.robot.name, "msgtype": message.msgtype, "title": title, "text": text,
            "links": links, "time": _ms(message.created_at)}


def notice_entry(notice):
    title, text, links = readable(notice.msgtype, notice.msg)
    return {"channel": "work_notice", "to": list(notice.userids), "msgtype": notice.msgtype, "title": title,
            "text": text, "links": links, "time": _ms(notice.created_at)}


def messages(since_ms=0):
    """Both channels' messages received at or after `since_ms`, oldest first."""
    since = datetime.fromtimestamp(max(0, since_ms) / 1000, tz=timezone.utc)
    robots = RobotMessage.objects.filter(created_at__gte=since).select_related("robot")
    notices = WorkNotice.objects.filter(created_at__gte=since)
    entries = [robot_entry(message) for message in robots] + [notice_entry(notice) for notice in notices]
    return sorted(entries, key=lambda entry: entry["time"])
