"""Token buckets that keep a client within a remote quota without wasting it."""

import threading
import time


class TokenBucket:
    """Thread-safe: `acquire()` blocks until a request may start.

    `rate` requests per second on average, at most `burst` at once. With burst 1 the
    requests are evenly spaced, so no one-second window ever holds more than `rate`.
    """

    def __init__(self, rate, burst=1, clock=time.monotonic, sleep=time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self):
        while True:
            with self._lock:
                wait = self._reserve()
            if wait <= 0:
                return
            self._sleep(wait)

    def _reserve(self):
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0
        return (1 - self._tokens) / self.rate


_buckets: dict[tuple, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(key, rate, burst=1):
    """One shared bucket per key (connection, API) in this process, rebuilt if the rate changes."""
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None or bucket.rate != float(rate) or bucket.burst != max(1.0, float(burst)):
            bucket = _buckets[key] = TokenBucket(rate, burst)
        return bucket
