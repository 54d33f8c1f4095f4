"""A per-IP fixed-window limit on the SSO endpoints, counted in the shared Django cache.

The cache is the database (or Redis) that every web process shares, so the limit holds
across gunicorn workers. Settings (optional): `SSO_RATE_LIMIT = (requests, seconds)`,
default 60 a minute; `SSO_TRUSTED_PROXIES`, the addresses of reverse proxies whose
X-Forwarded-For is believed; without it, behind a proxy everyone shares the proxy's address.
"""

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache



def address(value):
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request):
    """The caller's address: REMOTE_ADDR, or the nearest untrusted hop a trusted proxy forwarded for."""
    remote = address(request.META.get("REMOTE_ADDR"))
    trusted = set(settings.SSO_TRUSTED_PROXIES)
    if remote in trusted:
        for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            ip = address(hop)
            if ip and ip not in trusted:
                return ip
    return remote


def requests_over_limit(request):
    """How many requests this address has made beyond its limit in the current window (0: within)."""
    limit, window = settings.SSO_RATE_LIMIT
    key = f"sso:rate:{client_ip(request) or '-'}:{int(time.time() // window)}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=window + 1)
            count = 1
    return max(0, count - limit)
