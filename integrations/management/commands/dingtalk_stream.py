import asyncio
import signal

from django.core.management.base import BaseCommand, CommandError

from integrations.models import Connection
from integrations.stream import PortalStreamClient


class Command(BaseCommand):
    help = (
        "Receive DingTalk events in Stream mode (an outbound websocket: for portals DingTalk cannot reach) with "
        "DingTalk's official client, and handle them like the HTTP callback. Run one process per connection "
        "(--connection) or one for all enabled DingTalk connections, beside the workers; stops on SIGTERM."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", type=int, action="append", default=[],
                            help="a DingTalk connection id (repeatable); default: every enabled one")

    def handle(self, *args, connection, **options):
        connections = Connection.objects.filter(kind=Connection.Kind.DINGTALK, enabled=True).exclude(app_key="")
        if connection:
            connections = connections.filter(pk__in=connection)
            missing = set(connection) - set(connections.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No enabled DingTalk connection with id {', '.join(map(str, sorted(missing)))}.")
        clients = [PortalStreamClient(item) for item in connections if item.app_secret]
        if not clients:
            raise CommandError("No enabled DingTalk connection with an AppKey and AppSecret.")
        asyncio.run(self.run(clients))
        received = sum(client.handler.received for client in clients)
        self.stdout.write(f"Stream stopped: {received} event(s) received on {len(clients)} connection(s).")

    async def run(self, clients):
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        self.stdout.write(f"Stream: {', '.join(f'{c.name} → {c.url}' for c in clients)}")
        self.stdout.flush()
        await asyncio.gather(*(client.run(stopping) for client in clients))
