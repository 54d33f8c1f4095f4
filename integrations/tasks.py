"""django-q2 tasks: doorways that take ids, call one engine function and return a short summary.

Enqueue them with the helpers of `integrations.queue`, which wait for the database commit. The cluster
never replays a task (Q_CLUSTER max_attempts=1): the engine's ledger is what retries writes.
"""

from django.utils.dateparse import parse_datetime

from integrations import engine, events
# Callers enqueue through `tasks.enqueue_*`; the functions live in `queue` so that `events` can use them too.
from integrations.queue import (  # noqa: F401
    enqueue_backfill, enqueue_drain, enqueue_keys, enqueue_retry, enqueue_run, request_drain,
)
from integrations.models import Scheme, Trigger


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


def sync_pending_records(scheme_id, trigger=Trigger.EVENT):
    """The drain: every pending record of the scheme no live run is reading, booked in one run, and the queued
    events settled from their records."""
    run = events.drain(scheme_id, trigger=trigger)
    return summary(run) if run is not None else "nothing pending"


def sweep():
    """Every minute: dead runs abandoned, and a drain for each scheme a dead worker left records in."""
    schemes = engine.sweep()
    for scheme in Scheme.objects.filter(pk__in=schemes):
        enqueue_drain(scheme)
    return f"{len(schemes)} scheme(s) to recover" if schemes else "nothing to recover"


def sync_event(event_id, scheme_id):
    """One event's task, as versions before the drain enqueued them (some may still wait in a broker)."""
    event = events.process(event_id, scheme_id)
    return f"event {event.pk} {event.outcome}: {event.instance_id}"


def retry_sync_records(record_ids, user_id=None):
    return "; ".join(summary(run) for run in engine.retry_records(record_ids, user_id=user_id)) or "nothing to retry"


def reconcile_scheme(scheme_id):
    """The scheme's daily reconciliation: the days that differ go to its alert robot (reconciliation.py)."""
    from integrations import reconciliation

    scheme = Scheme.objects.filter(pk=scheme_id).first()
    if scheme is None:
        return "scheme gone"
    sent = reconciliation.push_differences(scheme)
    return f"{len(sent)} days with a difference sent" if sent else "no difference"
