from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.demo import setup_demo


class Command(BaseCommand):
    help = (
        "Prepare the demo against a running server with the sandbox on: seed the sandbox, create the sandbox "
        "connections, the expense-claim scheme (every minute) and the identity map, and queue a first run. "
        "Idempotent: run it at every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="the server the sandbox is served by, e.g. "
                                                              "http://127.0.0.1:8000")

    def handle(self, *args, base_url, **options):
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The sandbox is off (PORTAL_SANDBOX): demo_setup needs it.")
        if not base_url.startswith(("http://", "https://")):
            raise CommandError("--base-url must start with http:// or https://")
        for line in setup_demo(base_url):
            self.stdout.write(line)
