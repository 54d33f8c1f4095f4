from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.demo import setup_demo


class Command(BaseCommand):
    help = (
        "Prepare the demo against a running server with the sandbox on: seed the sandbox, create the sandbox "
        "connections, the expense-claim scheme (on DingTalk events, polling every 30 minutes as the net), the "
        "sandbox's event push to this portal and the identity map, and queue a first run. "
        "Idempotent: run it at every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="the server the sandbox is served by, e.g. "
                                                              "http://127.0.0.1:8000")
        parser.add_argument("--events", choices=["callback", "stream"], default="callback",
                            help="how the sandbox delivers approval events (stream needs sandbox_stream and "
                                 "dingtalk_stream running)")

    def handle(self, *args, base_url, events, **options):
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The sandbox is off (PORTAL_SANDBOX): demo_setup needs it.")
        if not base_url.startswith(("http://", "https://")):
            raise CommandError("--base-url must start with http:// or https://")
        for line in setup_demo(base_url, events):
            self.stdout.write(line)
