"""Jobs for the worker, enqueued only once the database transaction commits (a rolled-back request
enqueues nothing). The task functions themselves are the doorways in `integrations.tasks`.

Events ask for a drain of their scheme, and a scheme has at most one drain waiting in the queue: a marker in the
shared cache says one is queued, and the drain removes it before it reads the ledger. An event whose request
finds the marker was committed before the queued drain starts reading, so that drain books it; a burst of events
becomes a few runs, not one task and one run each. The marker expires, so a drain lost with its worker (or its
broker) holds nothing up for long, and the sweep drains whatever stays queued.
"""

import logging

from django.core.cache import cache
from django.db import transaction
from django_q.tasks import async_task

from integrations.models import Trigger

logger = logging.getLogger("integrations.events")
DRAIN_MARKER_SECONDS = 10


def _enqueue(func, *args, name, group, **kwargs):
    transaction.on_commit(lambda: async_task(func, *args, task_name=name[:100], group=group, **kwargs))


def enqueue_run(scheme, user=None):
    _enqueue("integrations.tasks.run_scheme_now", scheme.pk, getattr(user, "pk", None),
             name=f"scheme {scheme.pk} run now", group=f"scheme-{scheme.pk}")


def enqueue_backfill(scheme, since, until, user=None):
    _enqueue("integrations.tasks.backfill_scheme", scheme.pk, since.isoformat(), until.isoformat(),
             getattr(user, "pk", None), name=f"scheme {scheme.pk} backfill {since:%Y-%m-%d}..{until:%Y-%m-%d}",
             group=f"scheme-{scheme.pk}")


def enqueue_keys(scheme, keys, trigger=Trigger.EVENT):
    keys = list(keys)
    _enqueue("integrations.tasks.sync_source_keys", scheme.pk, keys, str(trigger),
             name=f"scheme {scheme.pk} {trigger} {keys[0] if len(keys) == 1 else len(keys)}",
             group=f"scheme-{scheme.pk}")


def enqueue_retry(record_ids, user=None):
    record_ids = list(record_ids)
    _enqueue("integrations.tasks.retry_sync_records", record_ids, getattr(user, "pk", None),
             name=f"retry {len(record_ids)} record(s)", group="retry")


def enqueue_drain(scheme, *, reason="recover"):
    """A drain of the scheme's pending records, whether or not one is queued already (the sweep's)."""
    _enqueue("integrations.tasks.sync_pending_records", scheme.pk, name=f"scheme {scheme.pk} {reason}",
             group=f"scheme-{scheme.pk}")


def request_drain(scheme):
    """A drain for records an event just noted, after the commit, unless one is already waiting in the queue."""
    def enqueue():
        if _mark_drain_queued(scheme.pk):
            async_task("integrations.tasks.sync_pending_records", scheme.pk, task_name=f"scheme {scheme.pk} events",
                       group=f"scheme-{scheme.pk}")

    transaction.on_commit(enqueue)


def drain_marker(scheme_id):
    return f"integrations:drain-queued:{scheme_id}"


def _mark_drain_queued(scheme_id):
    try:
        return cache.add(drain_marker(scheme_id), 1, timeout=DRAIN_MARKER_SECONDS)
    except Exception:  # noqa: BLE001 (cache unreachable: a drain too many is harmless, one too few is not)
        logger.warning("the cache is unreachable; enqueueing a drain of scheme %s anyway", scheme_id, exc_info=True)
        return True


def drain_started(scheme_id):
    """The drain is off the queue: events from now on need a drain of their own (the caller reads the ledger
    after this)."""
    try:
        cache.delete(drain_marker(scheme_id))
    except Exception:  # noqa: BLE001 (the marker expires by itself)
        logger.warning("the cache is unreachable; the drain marker of scheme %s expires by itself", scheme_id)
