import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Benchmark real-time booking: a fresh SQLite database (or --database-url) with a seeded sandbox, the "
        "sandbox and the portal under two gunicorns on loopback, a qcluster, and N new claims approved at R per "
        "second; the sandbox pushes each approval to the portal (HTTP callback, or --events stream). Prints the "
        "seconds from approval (the instance's finish time) to bill booked (the ledger's booked_at): "
        "p50_s=… p95_s=… max_s=… booked=… of=…"
    )

    def add_arguments(self, parser):
        parser.add_argument("--claims", type=int, default=50, help="claims to approve")
        parser.add_argument("--rate", type=float, default=2.0, help="approvals per second")
        parser.add_argument("--workers", type=int, default=2, help="qcluster worker processes")
        parser.add_argument("--events", choices=["callback", "stream"], default="callback")
        parser.add_argument("--timeout", type=float, default=60, help="seconds to wait after the last approval")
        parser.add_argument("--database-url", default="", help="default: a new SQLite file under var/")
        parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--report", default="", help=argparse.SUPPRESS)
        parser.add_argument("--portal-port", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--sandbox-port", type=int, default=0, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["prepare"]:
            return self.prepare(options)
        if options["report"]:
            return self.write_report(options["report"])
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The benchmark runs against the sandbox: set PORTAL_SANDBOX=true (and DEBUG=true).")
        if options["claims"] < 1 or options["rate"] <= 0:
            raise CommandError("--claims and --rate must be positive.")
        portal_port, sandbox_port = free_port(), free_port()
        env = environment(options["database_url"])
        with tempfile.TemporaryDirectory(prefix="bench-events-") as workdir:
            claims = self.run_prepare(env, options, portal_port, sandbox_port)
            processes = []
            try:
                processes += start_servers(env, portal_port, sandbox_port, Path(workdir))
                processes += start_workers(env, options, Path(workdir))
                sandbox = f"http://127.0.0.1:{sandbox_port}"
                warm_up, measured = claims[0], claims[1:]
                approve(sandbox, [warm_up], rate=1)
                wait_for_bills(sandbox, [warm_up], timeout=60)
                approve(sandbox, measured, options["rate"])
                wait_for_bills(sandbox, measured, options["timeout"])
            finally:
                for process in reversed(processes):
                    stop(process)
            claims_file = Path(workdir) / "claims.json"
            claims_file.write_text(json.dumps(measured))
            report = json.loads(manage(env, "bench_events", "--report", str(claims_file)).strip().splitlines()[-1])
        self.print_report(report, options)

    # --- inside the benchmark database ------------------------------------------------------------

    def prepare(self, options):
        """Seed, connect, create the event-driven scheme and N+1 running claims, then turn the push on."""
        from devtools import demo
        from integrations.models import Connection, Scheme
        from sandbox import roster
        from sandbox.dingtalk import claims
        from sandbox.dingtalk.models import App, Employee
        from sso.identities import seed_demo_identities

        credentials = demo.seed_sandbox(instances=20)
        sandbox, portal = f"http://127.0.0.1:{options['sandbox_port']}", f"http://127.0.0.1:{options['portal_port']}"
        dingtalk, _robot, kingdee = demo.sandbox_connections(sandbox, credentials)
        for connection in (dingtalk, kingdee):
            connection.rate_limit, connection.max_concurrency = 200, 8
            connection.save()
        scheme = demo.expense_scheme(dingtalk, kingdee, credentials["dingtalk"]["process_code"])
        scheme.schedule_kind = Scheme.ScheduleKind.MANUAL  # events only while measuring: nothing polls
        scheme.save()
        seed_demo_identities(roster.employees(), unmapped=0)
        App.objects.update(push_mode="")  # the claims' start events are not part of the measurement
        people = list(Employee.objects.filter(active=True).prefetch_related("departments").order_by("userid"))
        created = claims.create_expense_claims(people, options["claims"] + 1, random.Random(options["claims"]))
        demo.sandbox_push(portal, Connection.objects.get(pk=dingtalk.pk), options["events"])
        self.stdout.write(json.dumps([instance.process_instance_id for instance in created]))

    def write_report(self, claims_file):
        from integrations.models import SyncRecord
        from sandbox.dingtalk.models import ApprovalInstance

        claims = json.loads(Path(claims_file).read_text())
        approved = dict(ApprovalInstance.objects.filter(process_instance_id__in=claims)
                        .values_list("process_instance_id", "finish_time"))
        records = SyncRecord.objects.filter(source_key__in=claims, status=SyncRecord.Status.SUCCEEDED)
        latencies = [(booked_at - approved[key]).total_seconds()
                     for key, booked_at in records.values_list("source_key", "booked_at") if approved.get(key)]
        by_event = records.filter(booked_via=SyncRecord.Via.EVENT).count()
        self.stdout.write(json.dumps({"latencies": latencies, "of": len(claims), "by_event": by_event}))

    def run_prepare(self, env, options, portal_port, sandbox_port):
        manage(env, "migrate", "-v0")
        out = manage(env, "bench_events", "--prepare", "--claims", str(options["claims"]), "--events",
                     options["events"], "--portal-port", str(portal_port), "--sandbox-port", str(sandbox_port))
        return json.loads(out.strip().splitlines()[-1])

    def print_report(self, report, options):
        latencies = sorted(report["latencies"])
        if not latencies:
            raise CommandError("no bill was booked")
        self.stdout.write(
            f"p50_s={statistics.median(latencies):.2f} p95_s={percentile(latencies, 0.95):.2f} "
            f"max_s={latencies[-1]:.2f} booked={len(latencies)} of={report['of']} by_event={report['by_event']} "
            f"rate={options['rate']:g}/s events={options['events']} workers={options['workers']}"
        )
        if len(latencies) != report["of"]:
            raise CommandError(f"{report['of'] - len(latencies)} claims were not booked within the timeout")


def environment(database_url):
    if not database_url:
        path = Path(settings.BASE_DIR) / "var" / "bench-events.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    return {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "PORTAL_SANDBOX": "true",
            "LOG_LEVEL": "WARNING", "PYTHONPATH": str(settings.BASE_DIR), "PYTHONUNBUFFERED": "1"}


def manage(env, *args):
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        raise CommandError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def start_servers(env, portal_port, sandbox_port, workdir):
    """The remote systems are other servers: the sandbox under one gunicorn, the portal under another."""
    servers = []
    for port, name in ((sandbox_port, "sandbox"), (portal_port, "portal")):
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--workers", "2", "--threads", "8", "--worker-class", "gthread", "--log-level", "warning"]
        log = open(workdir / f"{name}.log", "wb")
        servers.append(subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=log,
                                        start_new_session=True))
        wait_until(lambda port=port: answers(f"http://127.0.0.1:{port}/healthz"), 60, f"gunicorn on {port}")
    return servers


def start_workers(env, options, workdir):
    manage_py = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    commands = [["qcluster"]]
    if options["events"] == "stream":
        commands += [["sandbox_stream", "--port", "0"], ["dingtalk_stream"]]
    processes = []
    for command in commands:
        log = open(workdir / f"{command[0]}.log", "wb")
        processes.append(subprocess.Popen([*manage_py, *command], env={**env, "Q_WORKERS": str(options["workers"])},
                                          cwd=settings.BASE_DIR, stdout=log, stderr=log, start_new_session=True))
    return processes


def approve(sandbox, claims, rate):
    """Approve at a steady rate: the i-th approval is sent i/rate seconds after the first."""
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool, requests.Session() as session:
        futures = []
        for index, instance_id in enumerate(claims):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            futures.append(pool.submit(session.post, f"{sandbox}/sandbox/dingtalk/_approvals/{instance_id}",
                                       data=json.dumps({"action": "agree"}), timeout=30))
        for future in futures:
            if future.result().status_code != 200:
                raise CommandError(f"the sandbox refused an approval: {future.result().text[:200]}")


def wait_for_bills(sandbox, claims, timeout):
    wanted = set(claims)

    def booked():
        body = requests.get(f"{sandbox}/sandbox/kingdee/_bills", params={"form": "AP_PAYBILL"}, timeout=30).json()
        return wanted <= set(body["by_third_bill_no"])

    try:
        wait_until(booked, timeout, "the bills")
    except CommandError:
        pass  # the report says how many were booked


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise CommandError(f"timed out waiting for {what}")


def answers(url):
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def percentile(ordered, fraction):
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process):
    """SIGTERM to the server or cluster, which stops its own children; SIGKILL what is left after 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
