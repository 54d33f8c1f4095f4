import logging
import socket
import threading
import time
from datetime import timedelta
from itertools import islice

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler, get_internal_wsgi_application
from django.utils import timezone

from integrations.clients.dingtalk import DingTalkClient
from integrations.clients.errors import RemoteError, ThrottledError
from sandbox import roster
from sandbox.dingtalk.models import App
from sandbox.dingtalk.seed import seed_dingtalk

DETAIL_PATH = "v1.0/workflow/processInstances"
QUIET = {"latency_ms": 0, "server_error_rate": 0, "timeout_rate": 0, "expire_token_every": 0, "monthly_quota": 0}


class _Handler(WSGIRequestHandler):
    def setup(self):
        super().setup()
        # Without it, small keep-alive responses wait ~40 ms for a delayed ACK (Nagle).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass


class Command(BaseCommand):
    help = (
        "Measure how close DingTalkClient gets to the DingTalk sandbox's QPS limit without being throttled: "
        "threads fetch approval details for a while, then one line reports achieved_qps, calls, throttled "
        "(answers the sandbox throttled) and max_in_1s (most calls the sandbox saw in any one second). Run it "
        "after touching the client's rate limiting. Without --base-url it serves the sandbox itself on a free "
        "loopback port, seeding it first if it is empty."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=10.0, help="length of the burst")
        parser.add_argument("--threads", type=int, default=8, help="concurrent callers")
        parser.add_argument("--qps", type=int, default=20, help="the sandbox's limit and the client's rate limit")
        parser.add_argument("--base-url", default="",
                            help="a running server's sandbox, e.g. http://host/sandbox/dingtalk/")
        parser.add_argument("--app-key", default="", help="default: the app in this database's sandbox")
        parser.add_argument("--app-secret", default="")

    def handle(self, *args, **options):
        if options["seconds"] <= 0 or options["threads"] < 1 or options["qps"] < 1:
            raise CommandError("--seconds, --threads and --qps must be positive.")
        if options["verbosity"] < 2:  # one log line per call would bury the result
            logging.getLogger("integrations.clients").setLevel(logging.WARNING)
        settings.DINGTALK_DETAIL_MEMO_SECONDS = 0  # every fetch goes to the wire: that is what is measured
        server = None
        base_url = options["base_url"]
        if not base_url:
            if not App.objects.exists():
                seed_dingtalk(roster.employees(), seed=roster.DEFAULT_SEED)
            server, base_url = _serve()
        base_url = base_url if base_url.endswith("/") else base_url + "/"
        try:
            self.stdout.write(self._bench(base_url, options))
        finally:
            if server:
                server.shutdown()
                server.server_close()

    def _bench(self, base_url, options):
        key, secret = _credentials(options)
        control = requests.Session()
        before = control.get(base_url + "_faults", timeout=10).json()
        control.post(base_url + "_faults", json={**QUIET, "qps_limit": options["qps"]}, timeout=10)
        try:
            client = DingTalkClient(base_url=base_url, api_base_url=base_url, app_key=key, app_secret=secret,
                                    rate_limit=options["qps"], max_concurrency=options["threads"],
                                    connect_timeout=5, read_timeout=30, name="bench")
            client.get_access_token(force=True)
            now = timezone.now()
            listed = client.list_instance_ids(roster.EXPENSE_PROCESS_CODE, now - timedelta(days=119), now)
            ids = list(islice(listed, 200))
            if not ids:
                raise CommandError("The sandbox has no expense approvals in the last 120 days: run sandbox_seed.")
            control.delete(base_url + "_calls", timeout=10)
            done, errors, elapsed = _burst(client, ids, options["threads"], options["seconds"])
            seen = control.get(base_url + "_calls", params={"path": DETAIL_PATH}, timeout=10).json()
        finally:
            control.post(base_url + "_faults", json={name: before[name] for name in [*QUIET, "qps_limit"]}, timeout=10)
        return (f"achieved_qps={done / elapsed:.2f} calls={done} throttled={seen['outcomes'].get('throttled', 0)} "
                f"max_in_1s={seen['max_in_window']} errors={len(errors)} "
                f"client_throttled={sum(isinstance(e, ThrottledError) for e in errors)}")


def _credentials(options):
    if options["app_key"]:
        return options["app_key"], options["app_secret"]
    app = App.objects.order_by("pk").first()
    if app is None:
        raise CommandError("No sandbox app in this database: run sandbox_seed or pass --app-key/--app-secret.")
    return app.app_key, app.app_secret


def _serve():
    server = ThreadedWSGIServer(("127.0.0.1", 0), _Handler)
    server.set_app(get_internal_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/sandbox/dingtalk/"


def _burst(client, ids, threads, seconds):
    """Every thread fetches details until the deadline; (successes, errors, elapsed seconds)."""
    deadline = time.monotonic() + seconds
    done, errors, lock = [0], [], threading.Lock()

    def work(offset):
        index = offset
        while time.monotonic() < deadline:
            try:
                client.get_instance(ids[index % len(ids)])
                with lock:
                    done[0] += 1
            except RemoteError as error:
                with lock:
                    errors.append(error)
            index += threads

    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(offset,)) for offset in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return done[0], errors, time.monotonic() - started
