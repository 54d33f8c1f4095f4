import argparse
import json
import logging
import threading
import time
from datetime import timedelta
from itertools import islice

import requests
from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from devtools.bench import BenchCommand, at_least, at_most, environment, scratch_database
from devtools.processes import free_port, gunicorn, run
from integrations.clients.dingtalk import DingTalkClient
from integrations.clients.errors import RemoteError, ThrottledError
from sandbox import roster

DETAIL_PATH = "v1.0/workflow/processInstances"
QUIET = {"latency_ms": 0, "server_error_rate": 0, "timeout_rate": 0, "expire_token_every": 0, "monthly_quota": 0}


def targets(figures, qps):
    """The quota used (at least 95 %) and never exceeded (no call throttled)."""
    return [at_least("quota_use", round(figures["achieved_qps"] / qps, 3), 0.95),
            at_most("throttled", figures["throttled"] + figures["client_throttled"], 0)]


class Command(BenchCommand):
    help = (
        "Measure how close DingTalkClient gets to the DingTalk sandbox's QPS limit without being throttled: "
        "threads fetch approval details for a while, then one line reports achieved_qps, calls, throttled "
        "(answers the sandbox throttled), max_in_1s (most calls the sandbox saw in any one second) and the "
        "client's CPU per call, then the targets. Run it after touching the client's rate limiting. Without "
        "--base-url it serves a seeded sandbox from a scratch database under gunicorn (one process: the sandbox "
        "keeps its window per process)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=10.0, help="length of the burst")
        parser.add_argument("--threads", type=int, default=8, help="concurrent callers")
        parser.add_argument("--qps", type=int, default=20, help="the sandbox's limit and the client's rate limit")
        parser.add_argument("--base-url", default="",
                            help="a running server's sandbox, e.g. http://host/sandbox/dingtalk/")
        parser.add_argument("--app-key", default="", help="with --base-url: the sandbox app's key")
        parser.add_argument("--app-secret", default="")
        parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["seed"]:
            return self.seed()
        if options["seconds"] <= 0 or options["threads"] < 1 or options["qps"] < 1:
            raise CommandError("--seconds, --threads and --qps must be positive.")
        if options["base_url"] and not options["app_key"]:
            raise CommandError("--base-url needs --app-key and --app-secret.")
        if options["verbosity"] < 2:  # one log line per call would bury the result
            logging.getLogger("integrations.clients").setLevel(logging.WARNING)
        settings.DINGTALK_DETAIL_MEMO_SECONDS = 0  # every fetch goes to the wire: that is what is measured
        if options["base_url"]:
            base_url = options["base_url"].rstrip("/") + "/"
            figures = self._bench(base_url, options["app_key"], options["app_secret"], options)
        else:
            with scratch_database("", "bench-dingtalk-client") as url:
                env = environment(url)
                run(env, "migrate", "-v0")
                app = json.loads(run(env, "bench_dingtalk_client", "--seed").splitlines()[-1])
                port = free_port()
                server = gunicorn(port, env=env, workers=1, threads=max(8, options["threads"] * 2),
                                  name="bench-dingtalk-client-sandbox")
                try:
                    figures = self._bench(f"http://127.0.0.1:{port}/sandbox/dingtalk/", app["app_key"],
                                          app["app_secret"], options)
                finally:
                    server.stop()
        self.stdout.write(" ".join(f"{key}={value}" for key, value in figures.items()))
        self.verdict(targets(figures, options["qps"]), options)

    def seed(self):
        from sandbox.dingtalk.models import App
        from sandbox.dingtalk.seed import seed_dingtalk

        seed_dingtalk(roster.employees(), seed=roster.DEFAULT_SEED)
        app = App.objects.order_by("pk").first()
        self.stdout.write(json.dumps({"app_key": app.app_key, "app_secret": app.app_secret}))

    def _bench(self, base_url, key, secret, options):
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
            cpu = time.process_time()
            done, errors, elapsed = _burst(client, ids, options["threads"], options["seconds"])
            cpu = time.process_time() - cpu
            seen = control.get(base_url + "_calls", params={"path": DETAIL_PATH}, timeout=10).json()
        finally:
            control.post(base_url + "_faults", json={name: before[name] for name in [*QUIET, "qps_limit"]}, timeout=10)
        return {"achieved_qps": round(done / elapsed, 2), "calls": done,
                "throttled": seen["outcomes"].get("throttled", 0), "max_in_1s": seen["max_in_window"],
                "errors": len(errors), "client_throttled": sum(isinstance(e, ThrottledError) for e in errors),
                "client_cpu_ms_per_call": round(1000 * cpu / done, 2) if done else None}


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
