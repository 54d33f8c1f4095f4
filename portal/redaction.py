"""Keep secrets out of logs, error pages and exports.

Stored secrets announce themselves here when they are read or written (see
`integrations.fields.SecretField`), so the log filter can mask them wherever they
turn up: in a message, an exception or a URL. Values that merely look like secrets
(a `token=` query parameter, an `"appSecret": …` JSON member) are masked by pattern.
"""

import re
import threading

MASK = "***"
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_known: set[str] = set()

SECRET_NAMES = (
    r"access_?token|accessToken|app_?secret|appSecret|appsecret|client_?secret|clientSecret|secret|password|"
    r"passwd|sign|signature|signeddata|ud|ticket|code|authCode|refresh_?token|refreshToken|aes_?key|"
    r"x-kd-signature|x-api-signature|kdservice-sessionid|sessionid"
)
_QUERY_PARAM = re.compile(rf"(?i)(?<![A-Za-z0-9_])({SECRET_NAMES})=([^&\s\"'#]+)")
_JSON_MEMBER = re.compile(rf"(?i)([\"']({SECRET_NAMES})[\"']\s*:\s*)([\"'])(.*?)(?<!\\)\3")
_HEADER = re.compile(rf"(?i)\b({SECRET_NAMES})(:\s+)(\S+)")


def remember_secret(value):
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _known.add(value)


def forget_all_secrets():
    with _lock:
        _known.clear()


def redact(text):
    if not text:
        return text
    text = str(text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _QUERY_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _JSON_MEMBER.sub(lambda m: f"{m.group(1)}{m.group(3)}{MASK}{m.group(3)}", text)
    return _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
