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
_known_pattern = None

SECRET_NAMES = (
    r"access_?token|accessToken|app_?secret|appSecret|appsecret|client_?secret|clientSecret|secret|password|"
    r"passwd|sign|signature|signeddata|ud|ticket|code|authCode|refresh_?token|refreshToken|aes_?key|"
    r"x-kd-signature|x-api-signature|kdservice-sessionid|sessionid"
)
_QUERY_PARAM = re.compile(rf"(?i)(?<![A-Za-z0-9_])({SECRET_NAMES})=([^&\s\"'#]+)")
_JSON_MEMBER = re.compile(rf"(?i)([\"']({SECRET_NAMES})[\"']\s*:\s*)([\"'])(.*?)(?<!\\)\3")
_HEADER = re.compile(rf"(?i)\b({SECRET_NAMES})(:\s+)(\S+)")


def remember_secret(value):
    global _known_pattern
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value not in _known:
        with _lock:
            _known.add(value)
            _known_pattern = None


def forget_all_secrets():
    global _known_pattern
    with _lock:
        _known.clear()
        _known_pattern = None


def _known_secrets():
    """One regex for all stored secrets, matched only as whole tokens so a secret that is
    also a word ("secret123") does not mangle text that merely contains it."""
    global _known_pattern
    with _lock:
        if _known_pattern is None and _known:
            alternatives = "|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True))
            _known_pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
        return _known_pattern


def redact(text):
    if not text:
        return text
    text = str(text)
    # Patterns first: a stored secret that happens to be a word like "appsecret" must not hide a parameter name.
    text = _QUERY_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _JSON_MEMBER.sub(lambda m: f"{m.group(1)}{m.group(3)}{MASK}{m.group(3)}", text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    known = _known_secrets()
    return known.sub(MASK, text) if known else text
