"""DingTalk as a target: group-robot messages and work notices, rendered from a record by a template.

Both are MESSAGE targets: the engine sends each key once, and the key carries the de-duplication
window (a material and a day). Templates use Django's template language, so IT can write loops over a
report's rows; a message longer than DingTalk takes is cut at a row boundary, with a link to the full table.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field

from django.template import Context, Engine, TemplateSyntaxError
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy as _

from integrations.adapters.base import Outcome, Param, TargetAdapter, register_target
from integrations.clients.errors import RemoteError

# Work notices: the whole `msg` at most 2048 bytes (dingtalk-api.md §6.1). Robots publish no byte limit
# (round 2 §8.1); markdown text is kept within the 5000 characters work notices allow, a safe bound.
NOTICE_BYTES = 2048
ROBOT_CHARS = 5000
ENGINE = Engine(autoescape=False, debug=False, builtins=["integrations.adapters.template_filters"])
BLANK_LINES = re.compile(r"\n{3,}")  # what template tags leave behind


class TemplateError(ValueError):
    """A template that does not parse or render; the message names the problem for IT."""


class NoRecipient(ValueError):
    pass


@dataclass
class Message:
    msgtype: str  # "markdown" or "action_card" (sent to robots as "actionCard")
    title: str
    text: str
    button_title: str = ""
    button_url: str = ""
    links: list = field(default_factory=list)

    def robot_body(self):
        if self.msgtype == "action_card" and self.button_url:
            return {"msgtype": "actionCard", "actionCard": {
                "title": self.title, "text": self.text, "btnOrientation": "0",
                "singleTitle": self.button_title or gettext("View"), "singleURL": self.button_url}}
        return {"msgtype": "markdown", "markdown": {"title": self.title, "text": self.text}}

    def notice_body(self):
        if self.msgtype == "action_card" and self.button_url:
            return {"msgtype": "action_card", "action_card": {
                "title": self.title, "markdown": self.text, "single_title": self.button_title or gettext("View"),
                "single_url": self.button_url}}
        return {"msgtype": "markdown", "markdown": {"title": self.title, "text": self.text}}

    def as_dict(self):
        return {"msgtype": self.msgtype, "title": self.title, "text": self.text, "button_title": self.button_title,
                "button_url": self.button_url}


def render(source, context):
    """A template text rendered with `context`; TemplateError names a syntax or rendering problem."""
    try:
        text = ENGINE.from_string(source or "").render(Context(context, autoescape=False))
        return BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()
    except TemplateSyntaxError as error:
        raise TemplateError(gettext("The template has an error: %(error)s") % {"error": error}) from error
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        raise TemplateError(gettext("The template could not be filled: %(error)s") % {"error": error}) from error


def check_template(source):
    """Problems with a template text, as messages (empty when it parses)."""
    try:
        ENGINE.from_string(source or "")
    except TemplateSyntaxError as error:
        return [gettext("The template has an error: %(error)s") % {"error": error}]
    return []


def compose(params, context, fits):
    """The Message for `context` through the templates in `params`, cut until `fits(message)` is true.

    A context with `tables` ({name: {"rows": […], …}}) is cut at row boundaries: each table shows its first
    rows, `shown` and `hidden` tell the template how many, and `cut` is true; when the template does not link
    the full table itself, a link line to `full_table_url` is added."""
    with translation.override(settings.LANGUAGE_CODE):  # for the readers in DingTalk, not for whoever runs it
        return _cut(params, context, fits)


def _cut(params, context, fits):
    message = _compose(params, context)
    if fits(message) or not context.get("tables"):
        return message if fits(message) else _hard_cut(message, fits)
    low, high, best = 0, max(len(table["rows"]) for table in context["tables"].values()), None
    while low <= high:
        middle = (low + high) // 2
        candidate = _compose(params, _shortened(context, middle))
        if fits(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best or _hard_cut(_compose(params, _shortened(context, 0)), fits)


def _compose(params, context):
    text = render(params.get("template"), context)
    url = context.get("full_table_url") or ""
    if context.get("cut") and url and url not in text:
        text += "\n\n" + gettext("[See the full table](%(url)s)") % {"url": url}
    return Message(
        msgtype=params.get("msgtype") or "markdown",
        title=render(params.get("title"), context)[:100] or gettext("Notice"),
        text=text,
        button_title=render(params.get("button_title"), context)[:20],
        button_url=render(params.get("button_url"), context),
    )


def _shortened(context, rows):
    tables = {}
    for name, table in context["tables"].items():
        shown = table["rows"][:rows]
        tables[name] = {**table, "rows": shown, "shown": len(shown), "hidden": len(table["rows"]) - len(shown)}
    return {**context, "tables": tables, "cut": True}


def _hard_cut(message, fits):
    """Nothing else left to drop: cut the text itself, keeping its last link line if it has one."""
    while message.text and not fits(message):
        message.text = message.text[: max(0, int(len(message.text) * 0.9) - 1)].rstrip() + "…"
    return message


def robot_fits(limit=ROBOT_CHARS):
    return lambda message: len(message.text) <= limit


def notice_fits(limit=NOTICE_BYTES):
    return lambda message: len(json.dumps(message.notice_body(), ensure_ascii=False).encode()) <= limit


def message_id(key, title=""):
    """A stable msgUuid per key: a retried robot send is not posted twice."""
    return hashlib.sha1(f"{key}|{title}".encode()).hexdigest()


MESSAGE_SETTINGS = {
    "msgtype": Param(_("message type (“markdown” or “action_card”)"), default="markdown"),
    "title": Param(_("title template"), default=""),
    "template": Param(_("text template (Django template language)"), required=True),
    "button_title": Param(_("button title (action card)"), default=""),
    "button_url": Param(_("button link template (action card)"), default=""),
}


class MessageTarget(TargetAdapter):
    mode = TargetAdapter.MESSAGE

    @classmethod
    def check(cls, params):
        problems = super().check(params)
        if isinstance(params, dict):
            if params.get("msgtype") not in (None, "", "markdown", "action_card"):
                problems.append(gettext("“msgtype” must be “markdown” or “action_card”."))
            for name in ("title", "template", "button_title", "button_url"):
                if isinstance(params.get(name), str):
                    problems += check_template(params[name])
        return problems

    def find(self, keys):
        return {}

    def write(self, items):
        outcomes = []
        for key, payload in items:
            try:
                message = compose(self.params, payload, self.fits())
                response = self.send(key, message, payload)
            except NoRecipient as error:
                outcomes.append(Outcome(False, message=str(error), code="no_recipient"))
            except TemplateError as error:
                outcomes.append(Outcome(False, message=str(error), code="template_error"))
            except RemoteError as error:
                outcomes.append(Outcome(False, message=str(error), code="send_failed",
                                        params={"message": str(error)}))
            else:
                outcomes.append(Outcome(True, str(response.get("id", "")), response={**message.as_dict(), **response}))
        return outcomes

    def fits(self):
        raise NotImplementedError

    def send(self, key, message, payload):
        raise NotImplementedError


@register_target
class RobotTarget(MessageTarget):
    kind = "dingtalk.robot"
    label = _("DingTalk group robot (markdown / action card)")
    connection_kind = "dingtalk_robot"
    settings_schema = MESSAGE_SETTINGS

    def fits(self):
        return robot_fits()

    def send(self, key, message, payload):
        uuid = message_id(key, message.title)
        self.client.send(message.robot_body(), msg_uuid=uuid)
        return {"id": uuid, "channel": "robot"}


@register_target
class WorkNoticeTarget(MessageTarget):
    kind = "dingtalk.work_notice"
    label = _("DingTalk work notice")
    connection_kind = "dingtalk"
    settings_schema = {
        **MESSAGE_SETTINGS,
        "userids": Param(_("DingTalk userids, comma-separated"), default=""),
        "userid_field": Param(_("field of the record holding the recipient's userid"), default=""),
    }

    @classmethod
    def check(cls, params):
        problems = super().check(params)
        if isinstance(params, dict) and not (params.get("userids") or params.get("userid_field")):
            problems.append(gettext("Name the recipients: “userids” or “userid_field”."))
        return problems

    def fits(self):
        return notice_fits()

    def recipients(self, payload):
        chosen = [u.strip() for u in str(self.params.get("userids") or "").split(",") if u.strip()]
        value = payload.get(self.params.get("userid_field")) if self.params.get("userid_field") else None
        found = value if isinstance(value, list) else [u.strip() for u in str(value or "").split(",") if u.strip()]
        return list(dict.fromkeys(chosen + [str(u) for u in found]))

    def send(self, key, message, payload):
        userids = self.recipients(payload)
        if not userids:
            raise NoRecipient(gettext("The record names no recipient."))
        task_ids = [self.client.send_notice(userids[start:start + 100], message.notice_body())
                    for start in range(0, len(userids), 100)]
        return {"id": ",".join(str(task) for task in task_ids), "channel": "work_notice", "to": userids}
