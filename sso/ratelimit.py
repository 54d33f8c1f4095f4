"""A per-IP fixed-window limit on the SSO endpoints, counted in the shared Django cache.

The cache is the database (or Redis) that every web process shares, so the limit holds
across gunicorn workers. `SSO_RATE_LIMIT = (requests, seconds)` in settings overrides
the default; behind a reverse proxy every user shares the proxy's address, so raise it there.
"""

import time

from django.conf import settings
from django.core.cache import cache

DEFAULT_RATE_LIMIT = (60, 60)


def requests_over_limit(request):
    """How many requests this address has made beyond its limit in the current window (0: within)."""
    limit, window = getattr(settings, "SSO_RATE_LIMIT", DEFAULT_RATE_LIMIT)
    ip = request.META.get("REMOTE_ADDR") or "-"
    key = f"sso:rate:{ip}:{int(time.time() // window)}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=window + 1)
            count = 1
    return max(0, count - limit)
