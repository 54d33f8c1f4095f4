"""django-q2 tasks: doorways that take ids, call one engine function and return a short summary.

Enqueue them with the helpers at the bottom, which wait for the database commit. The cluster
never replays a task (Q_CLUSTER max_attempts=1): the engine's ledger is what retries writes.
"""

from django.db import transaction
from django.utils.dateparse import parse_datetime
from django_q.tasks import async_task

from integrations import engine, events
from integrations.models import Trigger


def summary(run):
    if run is None:
        return "busy: another run of this scheme is in progress"
    return (f"run {run.pk} {run.status}: read {run.read_count}, booked {run.succeeded_count}, "
            f"skipped {run.skipped_count}, failed {run.failed_count}, waiting {run.waiting_count}")


def run_scheduled_scheme(scheme_id):
    return summary(engine.run_scheme(scheme_id, trigger=Trigger.SCHEDULE))


def run_scheme_now(scheme_id, user_id=None):
    return summary(engine.run_scheme(scheme_id, trigger=Trigger.MANUAL, user_id=user_id))


def backfill_scheme(scheme_id, since, until, user_id=None):
    return summary(engine.run_scheme(scheme_id, trigger=Trigger.BACKFILL, since=parse_datetime(since),
                                     until=parse_datetime(until), user_id=user_id))


def sync_source_keys(scheme_id, keys, trigger=Trigger.EVENT):
    return summary(engine.sync_keys(scheme_id, keys, trigger=trigger))


def sync_event(event_id, scheme_id):
    event = events.process(event_id, scheme_id)
    return f"event {event.pk} {event.outcome}: {event.instance_id}"


def retry_sync_records(record_ids, user_id=None):
    return "; ".join(summary(run) for run in engine.retry_records(record_ids, user_id=user_id)) or "nothing to retry"


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
