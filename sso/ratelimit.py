"""A per-IP fixed-window limit on the SSO endpoints, counted where every web process sees it.

The count lives in the store of `RATE_LIMIT_STORE` (as the remote APIs' rate budgets do): Redis (one
pipelined INCR + EXPIRE), the database (one upsert into `sso_ratewindow`; past windows are deleted once a
window per process), or this process only (`local`, tests). One round trip per request: a login spends no
more on its own limit than on any other query. Settings (optional): `SSO_RATE_LIMIT = (requests, seconds)`,
default 60 a minute; `SSO_TRUSTED_PROXIES`, the addresses of reverse proxies whose X-Forwarded-For is
believed; without it, behind a proxy everyone shares the proxy's address.
"""

import ipaddress
import threading
import time

from django.conf import settings
from django.db import connection

from sso.models import RateWindow


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
    index = int(time.time() // window)
    key = f"sso:rate:{client_ip(request) or '-'}:{index}"
    return max(0, store().hit(key, (index + 1) * window) - limit)


class LocalWindows:
    """This process only: a dict of the current windows' counts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._hits = {}

    def hit(self, key, ends_at):
        with self._lock:
            now = time.time()
            if len(self._hits) > 10000:
                self._hits = {k: v for k, v in self._hits.items() if v[1] > now}
            hits, _ends = self._hits.get(key, (0, ends_at))
            self._hits[key] = (hits + 1, ends_at)
            return hits + 1


class RedisWindows:
    """One client per process (Django's cache builds a client per call); INCR and EXPIRE in one round trip."""

    def __init__(self, url):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def hit(self, key, ends_at):
        with self.redis.pipeline() as pipe:
            hits, _ok = pipe.incr(key).expireat(key, int(ends_at) + 1).execute()
        return int(hits)


class DatabaseWindows:
    """One row per address and window, counted by an atomic upsert on the request's own connection."""

    def __init__(self):
        self._pruned_until = 0.0
        table, key = (connection.ops.quote_name(name) for name in (RateWindow._meta.db_table, "key"))
        self.upsert = (f"INSERT INTO {table} ({key}, hits, ends_at) VALUES (%s, 1, %s) "
                       f"ON CONFLICT ({key}) DO UPDATE SET hits = {table}.hits + 1 RETURNING hits")

    def hit(self, key, ends_at):
        now = time.time()
        if now >= self._pruned_until:  # once a window per process: what has ended goes
            self._pruned_until = ends_at
            RateWindow.objects.filter(ends_at__lt=now).delete()
        with connection.cursor() as cursor:
            cursor.execute(self.upsert, [key, ends_at])
            return int(cursor.fetchone()[0])


_stores = {}
_stores_lock = threading.Lock()


def store():
    kind = settings.RATE_LIMIT_STORE
    with _stores_lock:
        if kind not in _stores:
            _stores[kind] = {"redis": lambda: RedisWindows(settings.REDIS_URL), "database": DatabaseWindows,
                             "local": LocalWindows}[kind]()
        return _stores[kind]
