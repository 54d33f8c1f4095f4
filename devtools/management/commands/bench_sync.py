import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# (DingTalk connection rate limit, parallel requests, DingTalk faults, Kingdee faults) per setting.
SETTINGS = {
    "a": (None, 16, {}, {}),
    "b": (20.0, 4, {"latency_ms": 50, "qps_limit": 20}, {"latency_ms": 50}),
    "c": (None, 16, {"latency_ms": 50}, {"latency_ms": 50}),
}
UNLIMITED = 10000.0  # "no quota": the client's own limiter out of the way


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile_ms(values, share):
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]) if ordered else 0


class Command(BaseCommand):
    help = (
        "Benchmark the sync engine: a fresh SQLite database (or --database-url) with N approved expense claims in "
        "the sandbox, served by gunicorn on loopback (DingTalk's 20 QPS quota by a one-process server of its own). "
        "Runs the engine in three settings — (a) no injected latency, (b) 50 ms latency and DingTalk's 20 QPS "
        "quota, (c) 50 ms latency, no quota — and in (c) also a naive sequential script (get one instance, Save "
        "one bill). Prints one key=value line per setting and naive_ratio=… last."
    )

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=1000, help="approved claims to book")
        parser.add_argument("--batch-size", type=int, default=50)
        parser.add_argument("--naive-records", type=int, default=0, help="claims for the naive script (default: all)")
        parser.add_argument("--database-url", default="", help="default: a new SQLite file under var/")
        parser.add_argument("--settings-only", default="abc", help=argparse.SUPPRESS)
        parser.add_argument("--measure", default="", help=argparse.SUPPRESS)  # internal: the servers, as JSON

    def handle(self, *args, **options):
        if options["measure"]:
            return self.measure(options)
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The benchmark runs against the sandbox: set PORTAL_SANDBOX=true (and DEBUG=true).")
        if options["records"] < 1 or options["batch_size"] < 1:
            raise CommandError("--records and --batch-size must be positive.")
        env = self.environment(options["database_url"])
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
        # DingTalk and Kingdee are other servers: in setting b, DingTalk is a server of its own with one process,
        # because the sandbox's 20 QPS window is kept per process; otherwise both answer from a two-process
        # server (niced, so that Kingdee's batch work does not starve the quota-keeping DingTalk of the CPU on a
        # small machine), so that the stand-in for the remote systems is not what the engine waits for.
        ports = {"quota": free_port(), "open": free_port()}
        servers = []
        try:
            servers.append(self.start_sandbox(env, ports["quota"], workers=1))
            servers.append(self.start_sandbox(env, ports["open"], workers=2, niceness=10))
            command = [*manage, "bench_sync", "--measure", json.dumps(
                {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}), "--records",
                str(options["records"]), "--batch-size", str(options["batch_size"]), "--naive-records",
                str(options["naive_records"]), "--settings-only", options["settings_only"]]
            child = subprocess.run(command, env=env, capture_output=True, text=True)
        finally:
            for server in servers:
                stop(server)
        if child.returncode:
            raise CommandError(f"the measuring process failed:\n{child.stderr[-4000:]}")
        for line in child.stdout.splitlines():
            if "=" in line and not line.startswith("{"):
                self.stdout.write(line)

    # --- orchestration -------------------------------------------------------------------------

    def environment(self, database_url):
        if not database_url:
            path = Path(settings.BASE_DIR) / "var" / "bench-sync.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            database_url = f"sqlite:///{path}"
        return {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "PORTAL_SANDBOX": "true",
                "LOG_LEVEL": "WARNING", "PYTHONPATH": str(settings.BASE_DIR)}

    def start_sandbox(self, env, port, workers, niceness=0):
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", "32", "--worker-class", "gthread", "--log-level",
                   "warning", "--timeout", "120", "--config", "python:devtools.bench_server"]
        server = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True,
                                  preexec_fn=(lambda: os.nice(niceness)) if niceness else None)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code in (200, 503):
                    return server
            except requests.RequestException:
                time.sleep(0.2)
        stop(server)
        raise CommandError("the sandbox server did not answer within 60 s")

    # --- measuring (inside the benchmark database) ---------------------------------------------

    def measure(self, options):
        servers, count = json.loads(options["measure"]), options["records"]
        scheme = self.prepare(servers["quota"], count, options["batch_size"])
        engine_rate = {}
        for name in options["settings_only"]:
            result = self.run_setting(scheme, servers["quota"] if name == "b" else servers["open"], servers["open"],
                                      name)
            engine_rate[name] = result["records_per_s"]
            self.line(f"setting={name}", result)
        if "c" in options["settings_only"]:
            naive = self.run_naive(scheme, servers["open"], options["naive_records"] or count)
            self.line("setting=c-naive", naive)
            ratio = engine_rate["c"] / naive["records_per_s"] if naive["records_per_s"] else 0
            self.stdout.write(f"naive_ratio={ratio:.1f}")

    def line(self, head, result):
        self.stdout.write(" ".join([head, *(f"{key}={value}" for key, value in result.items())]))
        self.stdout.flush()

    def prepare(self, base_url, count, batch_size):
        from django.db.models import F

        from devtools import demo
        from sandbox import roster
        from sandbox.dingtalk.models import ApprovalInstance
        from sso.identities import seed_demo_identities

        credentials = demo.seed_sandbox(instances=count)
        claims = ApprovalInstance.objects.filter(template__process_code=roster.EXPENSE_PROCESS_CODE)
        claims.update(status=ApprovalInstance.Status.COMPLETED, result="agree", biz_action="NONE")
        claims.filter(finish_time__isnull=True).update(finish_time=F("create_time") + timedelta(hours=3))
        seed_demo_identities(roster.employees(), unmapped=0)
        dingtalk, _robot, kingdee = demo.sandbox_connections(base_url, credentials)
        scheme = demo.expense_scheme(dingtalk, kingdee, credentials["dingtalk"]["process_code"])
        scheme.schedule_kind, scheme.batch_size, scheme.writeback = scheme.ScheduleKind.MANUAL, batch_size, False
        scheme.save()
        return scheme

    def reset(self, scheme, base_url, kingdee_url, dingtalk_faults, kingdee_faults):
        from django.core.cache import cache
        from django.utils import timezone

        from devtools import demo
        from integrations.models import SyncRecord, SyncRun
        from sandbox.kingdee.models import FormRecord

        SyncRecord.objects.filter(scheme=scheme).delete()
        SyncRun.objects.filter(scheme=scheme).delete()
        FormRecord.objects.filter(form_id="AP_PAYBILL").delete()
        type(scheme).objects.filter(pk=scheme.pk).update(
            cursor=None, start_from=timezone.now() - timedelta(days=demo.SEED_DAYS + 1))
        cache.clear()  # each setting fetches its own DingTalk token, as a fresh worker would
        post(f"{base_url}/sandbox/dingtalk/_faults", {"reset": True, "clear_calls": True, **dingtalk_faults})
        post(f"{kingdee_url}/sandbox/kingdee/_faults", {"reset": True, **kingdee_faults})

    def configure(self, scheme, base_url, kingdee_url, rate_limit, concurrency):
        dingtalk, kingdee = scheme.source_connection, scheme.target_connection
        dingtalk.base_url = dingtalk.api_base_url = f"{base_url}/sandbox/dingtalk/"
        dingtalk.rate_limit, dingtalk.max_concurrency = rate_limit or UNLIMITED, concurrency
        dingtalk.save()
        kingdee.base_url = f"{kingdee_url}/sandbox/kingdee/"
        kingdee.rate_limit = UNLIMITED if rate_limit is None else None
        kingdee.save()

    def run_setting(self, scheme, base_url, kingdee_url, name):
        from integrations import engine
        from integrations.models import Trigger

        rate_limit, concurrency, dingtalk_faults, kingdee_faults = SETTINGS[name]
        self.reset(scheme, base_url, kingdee_url, dingtalk_faults, kingdee_faults)
        self.configure(scheme, base_url, kingdee_url, rate_limit, concurrency)
        started = time.monotonic()
        run = engine.run_scheme(scheme.pk, trigger=Trigger.COMMAND)
        elapsed = time.monotonic() - started
        latency, calls = run.stats.get("latency_ms", {}), run.stats.get("calls", {})
        return self.figures(base_url, run.succeeded_count, elapsed, latency.get("p50"), latency.get("p95"),
                            sum(calls.get("source", {}).values()), sum(calls.get("target", {}).values()))

    def figures(self, base_url, booked, elapsed, p50, p95, dingtalk_calls, kingdee_calls):
        """Calls are counted by the engine's clients (every answered request, retries included); throttling
        answers by the sandbox, which alone enforces the quota (one process in setting b)."""
        dingtalk = requests.get(f"{base_url}/sandbox/dingtalk/_calls", timeout=10).json()
        bills = requests.get(f"{base_url}/sandbox/kingdee/_bills", params={"form": "AP_PAYBILL"}, timeout=10).json()
        # (any server answers this one: the bills are in the shared database)
        return {
            "records": booked,
            "records_per_s": round(booked / elapsed, 1) if elapsed else 0,
            "p50_ms": p50, "p95_ms": p95,
            "dingtalk_calls_per_bill": round(dingtalk_calls / booked, 3) if booked else 0,
            "kingdee_calls_per_bill": round(kingdee_calls / booked, 3) if booked else 0,
            "throttled": dingtalk["outcomes"].get("throttled", 0),
            "bills": bills["total"], "duplicates": len(bills["duplicates"]), "seconds": round(elapsed, 1),
        }

    def run_naive(self, scheme, base_url, count):
        """A hand-made integration script: list the ids, then for each one get it and Save one bill."""
        from django.utils import timezone

        from integrations import mapping
        from integrations.clients import client_for
        from integrations.engine.booking import identity_lookup

        rate_limit, concurrency, dingtalk_faults, kingdee_faults = SETTINGS["c"]
        self.reset(scheme, base_url, base_url, dingtalk_faults, kingdee_faults)
        self.configure(scheme, base_url, base_url, rate_limit, concurrency)
        scheme.refresh_from_db()
        dingtalk, kingdee = client_for(scheme.source_connection), client_for(scheme.target_connection)
        rows, lookups = scheme.rows(), mapping.Lookups(scheme.value_map_dicts(), identity_lookup())
        started, latencies, booked = time.monotonic(), [], 0
        ids = dingtalk.list_instance_ids(scheme.source_params["process_code"], scheme.start_from, timezone.now())
        for instance_id in list(ids)[:count]:
            began = time.monotonic()
            instance = dingtalk.get_instance(instance_id)
            if instance["status"] != "COMPLETED" or instance["result"] != "agree":
                continue
            payload = mapping.build_payload(rows, instance, lookups).payload
            kingdee.save("AP_PAYBILL", payload)
            booked += 1
            latencies.append(time.monotonic() - began)
        elapsed = time.monotonic() - started
        return self.figures(base_url, booked, elapsed, percentile_ms(latencies, 0.5), percentile_ms(latencies, 0.95),
                            sum(dingtalk.calls.values()), sum(kingdee.calls.values()))


def post(url, body):
    response = requests.post(url, data=json.dumps(body), timeout=10)
    if response.status_code != 200:
        raise CommandError(f"{url}: {response.text}")


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
