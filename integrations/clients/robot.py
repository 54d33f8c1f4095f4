"""DingTalk custom group robot (webhook) client, with 加签 signing (reference §6.2)."""

import time
import uuid

from django.utils.translation import gettext as _

from integrations.clients.base import HttpClient
from integrations.clients.errors import BusinessError, ConfigurationError, ThrottledError, TransientError
from integrations.protocol import robot_sign

# Keyword/IP/signature refused, token unknown or missing, robot disabled or gone, group dissolved.
CONFIG_CODES = {310000, 300005, 400101, 400102, 400106, 400013, 43004}
PENALTY_CODES = {410100, 660026}  # over 20 messages a minute: the robot is muted for 10 minutes
THROTTLE_CODES = {90018, 90002}


class DingTalkRobotClient(HttpClient):
    """Errors: 310000 (bad sign, keyword or IP), 300005 (unknown token) and other set-up codes →
    ConfigurationError; 410100/660026 → ThrottledError that is *not* retried (the penalty lasts
    10 minutes); -1 → TransientError; other codes → BusinessError; each with DingTalk's errmsg.
    Every message carries a msgUuid, so a retried send is not posted twice.
    """

    system = "dingtalk_robot"

    def __init__(self, *, base_url, access_token, secret="", **common):
        super().__init__(**common)
        self.url = (base_url if base_url.endswith("/") else base_url + "/") + "robot/send"
        self.access_token, self.secret = access_token, secret

    def raise_for_response(self, response):
        body = super().raise_for_response(response)
        code = int(str(body.get("errcode", 0)).strip() or 0) if isinstance(body, dict) else 0
        if code == 0:
            return body
        message = body.get("errmsg") or f"errcode {code}"
        if code in PENALTY_CODES:
            error = ThrottledError(message, code=code, system=self.system)
            error.retryable = False  # retrying within the 10-minute penalty only fails again
            raise error
        error_class = (ConfigurationError if code in CONFIG_CODES else ThrottledError if code in THROTTLE_CODES
                       else TransientError if code == -1 else BusinessError)
        raise error_class(message, code=code, system=self.system)

    def send(self, message, msg_uuid=None):
        body = {**message, "msgUuid": msg_uuid or uuid.uuid4().hex}
        params = {"access_token": self.access_token}
        if self.secret:
            timestamp = str(int(time.time() * 1000))
            params.update(timestamp=timestamp, sign=robot_sign(self.secret, timestamp))
        return self.request("POST", self.url, params=params, json=body)

    def send_markdown(self, title, text, msg_uuid=None, at_userids=()):
        message = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        if at_userids:
            message["at"] = {"atUserIds": list(at_userids), "isAtAll": False}
        return self.send(message, msg_uuid)

    def send_text(self, content, msg_uuid=None, at_userids=(), at_all=False):
        message = {"msgtype": "text", "text": {"content": content}}
        if at_userids or at_all:
            message["at"] = {"atUserIds": list(at_userids), "isAtAll": at_all}
        return self.send(message, msg_uuid)

    def check(self):
        """Robots have no read API: the only test is a message to the group."""
        self.send_text(_("Connection test from the DingTalk ⇄ Kingdee integration portal."))
        return _("test message posted to the group")
