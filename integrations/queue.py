"""Jobs for the worker, enqueued only once the database transaction commits (a rolled-back request
enqueues nothing). The task functions themselves are the doorways in `integrations.tasks`."""

from django.db import transaction
from django_q.tasks import async_task

from integrations.models import Trigger


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


def enqueue_event(event, scheme):
    _enqueue("integrations.tasks.sync_event", event.pk, scheme.pk,
             name=f"scheme {scheme.pk} event {event.pk} {event.instance_id}", group=f"scheme-{scheme.pk}")


def enqueue_drain(scheme):
    _enqueue("integrations.tasks.sync_pending_records", scheme.pk, name=f"scheme {scheme.pk} recover",
             group=f"scheme-{scheme.pk}")
