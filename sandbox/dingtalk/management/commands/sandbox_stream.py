import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.dingtalk.stream import Gateway


class Command(BaseCommand):
    help = (
        "Serve the DingTalk sandbox's Stream gateway (websockets) beside the web server, which cannot: run it "
        "when a portal connection uses Stream mode. The sandbox's /v1.0/gateway/connections/open hands out "
        "this server's address. Stops on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=0, help="default: a free port (its address is recorded)")
        parser.add_argument("--public-host", default="", help="host name clients use, when not --host")

    def handle(self, *args, host, port, public_host, **options):
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The sandbox is off (PORTAL_SANDBOX).")
        gateway = Gateway(host, port, public_host or host)
        asyncio.run(self.serve(gateway))
        self.stdout.write(f"Stream gateway {gateway.endpoint} stopped.")

    async def serve(self, gateway):
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, gateway.stopping.set)
        await gateway.run(ready=lambda endpoint: self.stdout.write(f"Stream gateway listening on {endpoint}",
                                                                   ending="\n") or self.stdout.flush())
