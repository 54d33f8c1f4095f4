"""A total time budget for the remote calls of one web request (测试连接, the mapping preview).

Each request of a client has its own timeouts and retries, which together can outlast the web server's
30 s; inside `within(seconds)`, every request is cut to what is left of the budget, and once it is spent
the next one is not sent (`DeadlineExceeded`, not retried).
"""

import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils.translation import gettext

from integrations.clients.errors import RemoteError

# Well under gunicorn's 30 s, leaving time to render the page.
INTERACTIVE_SECONDS = 15.0

_ends_at = ContextVar("remote_deadline", default=None)


class DeadlineExceeded(RemoteError):
    """The budget of the web request was spent before the remote answered."""


@contextmanager
def within(seconds=None):
    seconds = seconds or INTERACTIVE_SECONDS
    token = _ends_at.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _ends_at.reset(token)


def remaining():
    """Seconds left, or None outside `within`."""
    budget = _ends_at.get()
    return None if budget is None else budget[0] - time.monotonic()


def bounded(timeout, system=""):
    """The (connect, read) timeout cut to the budget; raises DeadlineExceeded once it is spent."""
    left = remaining()
    if left is None:
        return timeout
    if left <= 0.05:
        message = gettext("No answer within %(seconds)d seconds; try again later or raise the timeout on the "
                          "server's side.") % {"seconds": _ends_at.get()[1]}
        raise DeadlineExceeded(message, system=system)
    parts = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return tuple(min(part, left) for part in parts)
