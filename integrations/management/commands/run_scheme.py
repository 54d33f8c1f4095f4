import signal
import threading
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations import engine, reasons
from integrations.models import Scheme, Trigger


def day(text, end=False):
    try:
        parsed = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as error:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD).") from error
    return timezone.make_aware(datetime.combine(parsed, time.max if end else time.min))


class Command(BaseCommand):
    help = (
        "Run a scheme now, in the foreground, through the same engine code as the worker, and print the run's "
        "counts. With --since/--until it backfills that date range and leaves the cursor alone. Ctrl-C or "
        "SIGTERM stops it between records; the next run carries on."
    )

    def add_arguments(self, parser):
        parser.add_argument("scheme", help="scheme name or id")
        parser.add_argument("--since", help="backfill from this date (YYYY-MM-DD)")
        parser.add_argument("--until", help="backfill up to this date, inclusive (default: now)")

    def handle(self, *args, scheme, since=None, until=None, **options):
        found = Scheme.objects.filter(name=scheme).first() or (
            Scheme.objects.filter(pk=int(scheme)).first() if scheme.isdigit() else None)
        if found is None:
            raise CommandError(f"No scheme named {scheme!r}.")
        if until and not since:
            raise CommandError("--until needs --since.")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        run = engine.run_scheme(
            found.pk, trigger=Trigger.BACKFILL if since else Trigger.COMMAND,
            since=day(since) if since else None, until=day(until, end=True) if until else None,
            should_stop=stop.is_set,
        )
        if run is None:
            raise CommandError(f"“{found.name}” is being run by another worker right now; try again later.")
        self.stdout.write(
            f"run {run.pk} {run.status}: read {run.read_count}, booked {run.succeeded_count}, "
            f"skipped {run.skipped_count}, failed {run.failed_count}, waiting {run.waiting_count}, "
            f"adopted {run.adopted_count}" + (f"\n{reasons.describe_run(run)}" if run.error or run.reasons else "")
        )
