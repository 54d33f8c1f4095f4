import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.dingtalk import push


class Command(BaseCommand):
    help = (
        "Deliver the DingTalk sandbox's HTTP pushes from this process (SANDBOX_PUSH_PROCESS=true makes the web "
        "process only write them): the same delivery, retries and duplicates as in the web process, with "
        "SANDBOX_PUSH_THREADS senders. Stops on SIGTERM or Ctrl-C."
    )

    def handle(self, *args, **options):
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The sandbox is off (PORTAL_SANDBOX).")
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_args: stopping.set())
        push.pusher.serve(stopping)
        self.stdout.write("Push stopped.")
