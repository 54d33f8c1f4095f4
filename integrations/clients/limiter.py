"""Rate budgets shared by every thread, process and machine that calls the same remote API.

A remote's quota is per app (DingTalk: 20 calls a second per app and API), not per worker, so the budget
lives where every worker sees it: Redis when `REDIS_URL` is set, the database otherwise (setting
`RATE_LIMIT_STORE`: ``redis``, ``database`` or ``local``, the last for one process only).

The budget is a generic cell rate algorithm: one number per key, the theoretical arrival time of the next
call. `acquire()` reserves the next free slot in one atomic round trip and sleeps until it comes, so calls
go out evenly spaced, first come first served, and no window of one second ever holds more than `rate`
calls, however many processes share the key. (The `limits` library was considered: it offers Redis but no
SQL store, and only hit-or-refuse windows, which make waiting callers poll and let a full window leave in
one burst; a reservation needs neither.)

The same stores keep counters (`count`, `counted`) for monthly call quotas.
"""

import logging
import queue
import threading
import time

from django.conf import settings
from django.db import connections

logger = logging.getLogger("integrations.clients")
TABLE = "integrations_ratebudget"
COUNTER_TTL = 40 * 24 * 3600  # a monthly counter outlives its month, then goes
LATE_TOLERANCE = 0.015  # seconds a call may leave after its slot; later, it takes a new slot
MAX_LATE_RETRIES = 5  # then it goes anyway, rather than waiting forever on a starved machine

_RESERVE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
redis.call('SET', KEYS[1], string.format('%.6f', start + interval), 'PX',
           math.ceil((start + interval - now) * 1000) + 1000)
return string.format('%.6f', start - now)
"""


class LocalBudgets:
    """One process: a lock and a dict. Used when nothing is shared (tests, a shell) and as the fallback."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._next = {}
        self._counts = {}

    def reserve(self, key, interval):
        with self._lock:
            now = self._clock()
            start = max(self._next.get(key, 0.0), now)
            self._next[key] = start + interval
            return start - now

    def count(self, key, n=1):
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n
            return self._counts[key]

    def counted(self, key):
        with self._lock:
            return self._counts.get(key, 0)


class RedisBudgets:
    """Reservations run as one Lua script on Redis's own clock, so machines' clocks need not agree."""

    def __init__(self, url):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._reserve = self.redis.register_script(_RESERVE)

    def reserve(self, key, interval):
        return float(self._reserve(keys=[key], args=[f"{interval:.6f}"]))

    def count(self, key, n=1):
        with self.redis.pipeline() as pipe:
            total, _ok = pipe.incrby(key, n).expire(key, COUNTER_TTL).execute()
        return int(total)

    def counted(self, key):
        return int(self.redis.get(key) or 0)


class DatabaseBudgets:
    """One row per key in `integrations_ratebudget`, updated by a single upsert.

    Statements run on connections of the store's own (a small pool shared by the process's threads), outside
    any transaction of the caller: a reservation must be committed at once, never held back (and its row
    locked) until the caller's transaction ends.
    """

    def __init__(self, alias="default"):
        self.alias = alias
        self._pool = queue.LifoQueue()

    def _execute(self, sql, params):
        """One statement on a pooled connection. Pooled connections are kept whatever CONN_MAX_AGE says (with 0,
        Django would open one, and run SQLite's PRAGMAs, for every reservation); one that fails is dropped and the
        statement tried once more on a new one (the server restarted, or closed an idle connection)."""
        try:
            connection, pooled = self._pool.get_nowait(), True
        except queue.Empty:
            connection, pooled = self._connect(), False
        try:
            row = self._fetch_one(connection, sql, params)
        except Exception:
            if not pooled:
                raise
            connection = self._connect()
            row = self._fetch_one(connection, sql, params)
        self._pool.put(connection)
        return row

    @staticmethod
    def _fetch_one(connection, sql, params):
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        except Exception:
            connection.close()
            raise

    def _connect(self):
        connection = connections.create_connection(self.alias)
        connection.inc_thread_sharing()  # pooled: used by one thread at a time, not always the same one
        connection.ensure_connection()
        connection.close_at = None  # the pool's own: kept until it fails
        return connection

    def _upsert(self, key, initial, update, now_sql, params):
        return self._execute(
            f"INSERT INTO {TABLE} (name, value) VALUES (%s, {initial}) ON CONFLICT (name) DO UPDATE SET "
            f"value = {update} RETURNING value, {now_sql}", params)

    def _now_sql(self):
        if connections[self.alias].vendor == "postgresql":
            return "extract(epoch from clock_timestamp())::float", ()
        return "%s", (time.time(),)

    def reserve(self, key, interval):
        now_sql, now = self._now_sql()
        postgresql = connections[self.alias].vendor == "postgresql"
        greatest = "GREATEST" if postgresql else "MAX"
        value, now_value = self._upsert(
            key, f"{now_sql} + %s", f"{greatest}({TABLE}.value, {now_sql}) + %s", now_sql,
            (key, *now, interval, *now, interval, *now))
        slot = float(value) - interval
        # SQLite lives on this machine's clock: measure the wait from now, after the (variable) time the
        # write took, so the call leaves at its slot and not late by that time.
        return slot - (float(now_value) if postgresql else time.time())

    def count(self, key, n=1):
        now_sql, now = self._now_sql()
        value, _now = self._upsert(key, "%s", f"{TABLE}.value + %s", now_sql, (key, n, n, *now))
        return int(value)

    def counted(self, key):
        row = self._execute(f"SELECT value FROM {TABLE} WHERE name = %s", [key])
        return int(row[0]) if row else 0


_stores = {}
_stores_lock = threading.Lock()
_local = LocalBudgets()


def store_kind():
    kind = getattr(settings, "RATE_LIMIT_STORE", "") or ""
    if kind:
        return kind
    return "redis" if getattr(settings, "REDIS_URL", "") else "database"


def store():
    """The configured store (one per process and kind)."""
    kind = store_kind()
    if kind == "local":
        return _local
    with _stores_lock:
        if kind not in _stores:
            _stores[kind] = RedisBudgets(settings.REDIS_URL) if kind == "redis" else DatabaseBudgets()
        return _stores[kind]


def _shared(operation, *args):
    """Run a store operation; when the shared store is unreachable, fall back to this process's budget
    (calls keep their spacing here, and the outage is logged) rather than stopping every remote call."""
    chosen = store()
    try:
        return getattr(chosen, operation)(*args)
    except Exception as error:  # noqa: BLE001 (Redis and database errors alike; logged)
        if chosen is _local:
            raise
        logger.warning("rate budget store %s failed (%s); using this process's budget", store_kind(), error)
        return getattr(_local, operation)(*args)


def budget_key(parts):
    return "rate:" + ":".join(str(part) for part in parts)


def acquire(key_parts, rate, sleep=time.sleep, clock=time.monotonic):
    """Block until a call under `key_parts` may start: at most `rate` calls a second, evenly spaced, counted
    across every process sharing the store. Returns the seconds waited.

    A caller that wakes up well after its slot (a busy machine did not schedule it in time) takes a new slot
    instead of going late: a late call would arrive together with the on-time calls of the slots after it.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    started = clock()
    for _attempt in range(MAX_LATE_RETRIES + 1):
        wait = _shared("reserve", budget_key(key_parts), 1.0 / float(rate))
        slot = clock() + max(wait, 0.0)
        if wait > 0:
            sleep(wait)
        if clock() - slot <= LATE_TOLERANCE:
            break
    return clock() - started


def count(key, n=1):
    """Add `n` to a shared counter; returns the new total."""
    return _shared("count", key, n)


def counted(key):
    try:
        return store().counted(key)
    except Exception as error:  # noqa: BLE001 (a dashboard must render without the store)
        logger.warning("rate budget store %s unreadable: %s", store_kind(), error)
        return None
