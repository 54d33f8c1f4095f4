"""Fault injection shared by the DingTalk and Kingdee sandboxes.

Each sandbox keeps one row of its own `FaultSettings` subclass (editable in its admin
and through its `_faults` API) and one `FaultInjector` per process. Decisions come
from a `random.Random` seeded with the row's seed, so a test that sets a seed sees
the same sequence of faults every time.
"""

import random
import threading
import time
from collections import deque

from django.db import models
from django.utils.translation import gettext_lazy as _


class FaultSettings(models.Model):
    seed = models.PositiveIntegerField(_("random seed"), default=0)
    latency_ms = models.PositiveIntegerField(_("added latency (ms)"), default=0)
    qps_limit = models.PositiveIntegerField(
        _("QPS limit per API"), default=0, help_text=_("0 means unlimited; beyond it calls get the throttling error.")
    )
    server_error_rate = models.FloatField(_("HTTP 5xx rate"), default=0.0, help_text=_("Between 0 and 1."))
    timeout_rate = models.FloatField(_("timeout rate"), default=0.0, help_text=_("Between 0 and 1."))
    timeout_seconds = models.FloatField(_("timeout delay (s)"), default=10.0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return str(self._meta.verbose_name)

    @classmethod
    def current(cls):
        settings, _created = cls.objects.get_or_create(pk=1)
        return settings


class CallLog:
    """The last calls a sandbox answered, so tests and benchmarks can check what reached it."""

    def __init__(self, size=200_000):
        self._entries = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, path, outcome):
        with self._lock:
            self._entries.append((time.monotonic(), path, outcome))

    def entries(self, path_contains="", outcome=None):
        with self._lock:
            return [e for e in self._entries if path_contains in e[1] and (outcome is None or e[2] == outcome)]

    def clear(self):
        with self._lock:
            self._entries.clear()

    def max_in_window(self, path_contains="", outcome="ok", window=1.0):
        """The most calls admitted within any `window` seconds."""
        times = [t for t, _path, _outcome in self.entries(path_contains, outcome)]
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best


class FaultInjector:
    """Per-process decisions: latency, throttling windows and seeded random faults."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        self._version = None
        self._windows: dict[str, deque] = {}
        self.log = CallLog()

    def reset(self, settings):
        with self._lock:
            self._rng = random.Random(settings.seed)
            self._version = (settings.seed, settings.updated_at)
            self._windows.clear()

    def roll(self, settings, rate):
        """True with probability `rate`, from the seeded sequence."""
        if rate <= 0:
            return False
        with self._lock:
            if self._version != (settings.seed, settings.updated_at):
                self._rng = random.Random(settings.seed)
                self._version = (settings.seed, settings.updated_at)
            return self._rng.random() < rate

    def admit(self, key, limit, window=1.0):
        """Sliding one-second window: False if `limit` calls were already admitted within it."""
        if not limit:
            return True
        now = time.monotonic()
        with self._lock:
            calls = self._windows.setdefault(key, deque())
            while calls and now - calls[0] >= window:
                calls.popleft()
            if len(calls) >= limit:
                return False
            calls.append(now)
            return True

    @staticmethod
    def delay(settings):
        if settings.latency_ms:
            time.sleep(settings.latency_ms / 1000)
