"""One error hierarchy for every remote system.

`retryable` says whether the base client may try again by itself; `message` is the
remote system's own text, fit to show to a user (it never contains a secret).
"""


class RemoteError(Exception):
    retryable = False

    def __init__(self, message, *, code=None, system="", http_status=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.system = system
        self.http_status = http_status

    def __str__(self):
        code = f" [{self.code}]" if self.code not in (None, "") else ""
        return f"{self.system}{code}: {self.message}" if self.system else f"{self.message}{code}"


class TransientError(RemoteError):
    """Network failure, timeout, 5xx, busy: the same request may succeed later."""

    retryable = True


class ThrottledError(TransientError):
    """The remote asked us to slow down (QPS limits)."""


class AuthError(RemoteError):
    """Token or session rejected; the client refreshes once, then raises this."""


class QuotaExceededError(RemoteError):
    """A periodic quota (DingTalk's monthly call count) is used up: stop, alert, do not retry."""


class BusinessError(RemoteError):
    """The remote refused the request itself (unknown id, validation failed): not retried."""


class ConfigurationError(RemoteError):
    """Wrong credentials or missing permissions: a person must fix the connection."""
