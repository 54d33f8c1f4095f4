from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

# Log tables and the time each row is dated by. Named, not imported: portal sits below the apps it prunes.
# Never here: the ledger (integrations.SyncRecord), runs (records point at them) and scheme versions.
LOG_TABLES = [
    ("portal.PortalLogin", "created_at"),
    ("sso.LoginEvent", "created_at"),
    ("integrations.DingTalkEvent", "received_at"),
    ("integrations.Alert", "created_at"),
    ("django_q.Task", "stopped"),
    ("admin.LogEntry", "action_time"),
]
BATCH = 5000


def installed(label):
    try:
        apps.get_model(label)
    except LookupError:
        return False
    return True


class Command(BaseCommand):
    help = (
        "Delete log rows older than LOG_RETENTION_DAYS (default 183, about six months): portal and SSO logins, "
        "DingTalk events, alerts, finished task results and admin history. Never the ledger. Run daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="keep this many days instead of the setting")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.LOG_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        counts = {label: self.prune(label, field, cutoff, dry_run) for label, field in LOG_TABLES if installed(label)}
        verb = "would delete" if dry_run else "deleted"
        summary = ", ".join(f"{label} {count}" for label, count in counts.items())
        self.stdout.write(f"Logs older than {days} days ({cutoff:%Y-%m-%d}): {verb} {summary}.")

    def prune(self, label, field, cutoff, dry_run):
        old = apps.get_model(label).objects.filter(**{f"{field}__lt": cutoff})
        if dry_run:
            return old.count()
        deleted = 0
        while ids := list(old.values_list("pk", flat=True)[:BATCH]):
            deleted += apps.get_model(label).objects.filter(pk__in=ids).delete()[1].get(label, 0)
        return deleted
