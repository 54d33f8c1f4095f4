"""One rate budget per key, whichever process asks: reservations are spaced by the interval across separate
stores (each one stands for a process of its own), on the database and on Redis."""

import threading

import pytest
import redis
from django.conf import settings

from integrations.clients import limiter

pytestmark = pytest.mark.django_db(transaction=True)
INTERVAL = 10.0  # seconds: far above any scheduling noise, so spacing is checked without timing


def spread(waits):
    ordered = sorted(waits)
    return [later - earlier for earlier, later in zip(ordered, ordered[1:])]


def reserve_from_separate_stores(make_store, key, count):
    waits, lock = [], threading.Lock()

    def one():
        wait = make_store().reserve(key, INTERVAL)
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return waits


def test_the_database_store_gives_every_process_its_own_slot():
    waits = reserve_from_separate_stores(limiter.DatabaseBudgets, "rate:test:db", 6)
    assert min(waits) == pytest.approx(0, abs=1)
    assert spread(waits) == pytest.approx([INTERVAL] * 5, abs=1)


def redis_or_skip():
    url = settings.REDIS_URL
    if not url:
        pytest.skip("REDIS_URL is not set")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable")
    return url


def test_the_redis_store_gives_every_process_its_own_slot():
    url = redis_or_skip()
    key = f"rate:test:redis:{threading.get_ident()}"
    redis.Redis.from_url(url).delete(key)
    waits = reserve_from_separate_stores(lambda: limiter.RedisBudgets(url), key, 6)
    assert min(waits) == pytest.approx(0, abs=1)
    assert spread(waits) == pytest.approx([INTERVAL] * 5, abs=1)


def test_counters_add_up_across_stores():
    first, second = limiter.DatabaseBudgets(), limiter.DatabaseBudgets()
    first.count("quota:test", 2)
    second.count("quota:test")
    assert first.counted("quota:test") == 3 and second.counted("unknown") == 0


def test_an_unreachable_store_falls_back_to_this_process(settings, caplog):
    settings.REDIS_URL, settings.RATE_LIMIT_STORE = "redis://127.0.0.1:9/0", "redis"
    limiter._stores.pop("redis", None)
    try:
        assert limiter.acquire(("test", "fallback"), 1000, sleep=lambda seconds: None) == pytest.approx(0, abs=1)
    finally:
        limiter._stores.pop("redis", None)
    assert "using this process's budget" in caplog.text


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError):
        limiter.acquire(("test", "zero"), 0)


def test_a_caller_woken_after_its_slot_takes_a_new_one(monkeypatch):
    now, waits, reserved = [100.0], [1.0, 0.0], []

    def reserve(operation, key, interval):
        reserved.append(key)
        return waits[len(reserved) - 1]

    def oversleep(seconds):
        now[0] += seconds + 0.5  # a busy machine scheduled this thread half a second late

    monkeypatch.setattr(limiter, "_shared", reserve)
    limiter.acquire(("test", "late"), 20, sleep=oversleep, clock=lambda: now[0])
    assert len(reserved) == 2


def test_the_database_store_keeps_its_connection_between_reservations():
    # Also with CONN_MAX_AGE = 0 (SQLite's default), where a request's own connection is not kept.
    store = limiter.DatabaseBudgets()
    store.reserve("rate:test:kept", 0.001)
    [connection] = list(store._pool.queue)
    opened = connection.connection
    store.count("quota:test:kept")
    assert list(store._pool.queue) == [connection] and connection.connection is opened is not None


def test_calls_at_the_dingtalk_client_s_rate_never_fill_a_sliding_second_past_the_quota(monkeypatch):
    """DingTalk (and the sandbox, sandbox.faults.FaultInjector.admit) counts calls in any sliding second as they
    arrive. Callers reserving at the client's rate (the quota less its headroom) leave evenly spaced; even when
    each arrives up to 40 ms late, in any order, no second holds more than the quota."""
    import random

    from integrations.clients.dingtalk import QPS_HEADROOM
    from sandbox.faults import CallLog

    quota, now = 20, [1000.0]
    budgets = limiter.LocalBudgets(clock=lambda: now[0])
    monkeypatch.setattr(limiter, "store", lambda: budgets)

    def sleep(seconds):
        now[0] += seconds

    log, rng, departures = CallLog(), random.Random(17), []
    for _call in range(400):
        limiter.acquire(("dingtalk", "app", "detail"), quota * QPS_HEADROOM, sleep=sleep, clock=lambda: now[0])
        departures.append(now[0])
    for arrival in sorted(left + rng.uniform(0, 0.04) for left in departures):
        log._entries.append((arrival, "detail", "ok"))
    assert log.max_in_window("detail") == quota
    arrivals_at_the_full_rate = sorted(left * QPS_HEADROOM + rng.uniform(0, 0.04) for left in departures)
    log.clear()
    for arrival in arrivals_at_the_full_rate:  # the same calls without the headroom do overfill some seconds
        log._entries.append((arrival, "detail", "ok"))
    assert log.max_in_window("detail") > quota
