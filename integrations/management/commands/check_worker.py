from django.core.management.base import BaseCommand

from integrations import alerts


class Command(BaseCommand):
    help = (
        "Alert the schemes' group robots when the worker's heartbeat has stopped. Run it every few minutes from "
        "cron or a systemd timer, outside the worker (a stopped worker cannot report itself); each robot gets at "
        "most one such alert per its schemes' alert window."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stale-after", type=int, default=None,
                            help="seconds without a heartbeat that count as stopped (default 180)")

    def handle(self, *args, **options):
        sent = alerts.check_worker(options["stale_after"])
        if not sent:
            self.stdout.write("worker ok, or already alerted within the window: no alert")
            return
        for alert in sent:
            alert.refresh_from_db()
            self.stdout.write(f"{alert.connection}: {alert.get_status_display()} {alert.error}".rstrip())
