import argparse
import json
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from django.core.management.base import CommandError

from devtools.bench import (BenchCommand, at_most, environment, percentile, require_sandbox,
                            scratch_database)
from devtools.processes import free_port, gunicorn, manage_process, run, wait_until


IDLE_SECONDS = 3
APPROVERS = 16  # approvals sent at once, as many as the sandbox's threads
POLL_SECONDS = 1.0  # how often the bills are counted while waiting (the latencies come from the ledger)


def targets(figures):
    """Issue 17: approval → bill p95 at most 2 s, every claim booked, none throttled by DingTalk."""
    return [at_most("p95_s", figures["p95_s"], 2), at_most("unbooked", figures["of"] - figures["booked"], 0),
            at_most("throttled", figures["throttled"], 0)]


class Command(BenchCommand):
    help = (
        "Benchmark real-time booking: a scratch database (a temporary SQLite file, or --database-url, created and "
        "dropped) with a seeded sandbox, the sandbox (one process keeping DingTalk's --quota) and the portal under "
        "two gunicorns on loopback, a qcluster, and new claims approved at --rate per second for --seconds (or "
        "--claims); the sandbox pushes each approval to the portal (HTTP callback, or --events stream). Prints the "
        "seconds from approval (the instance's finish time) to bill booked (the ledger's booked_at), the portal's "
        "CPU per booked claim (its web server, cluster and stream client, from /proc) beside the sandbox's, where each "
        "claim's time went (approve, push, answer, queue, read, write: p50/p95 seconds, see `stages`) and the "
        "targets. The sandbox's pushes go out from a process of their own (sandbox_push)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--claims", type=int, default=0, help="claims to approve (default: rate × seconds)")
        parser.add_argument("--rate", type=float, default=19.0, help="approvals per second")
        parser.add_argument("--seconds", type=float, default=30.0, help="seconds of approvals at --rate")
        parser.add_argument("--quota", type=int, default=20,
                            help="DingTalk's calls per second, kept by the sandbox and the portal's client (0: none)")
        parser.add_argument("--workers", type=int, default=2, help="qcluster worker processes")
        parser.add_argument("--events", choices=["callback", "stream"], default="callback")
        parser.add_argument("--timeout", type=float, default=60, help="seconds to wait after the last approval")
        parser.add_argument("--database-url", default="", help="postgres://…/NAME to create, use and drop")
        parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--report", default="", help=argparse.SUPPRESS)
        parser.add_argument("--portal-port", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--sandbox-port", type=int, default=0, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["prepare"]:
            return self.prepare(options)
        if options["report"]:
            return self.write_report(options["report"])
        require_sandbox()
        options["claims"] = options["claims"] or round(options["rate"] * options["seconds"])
        if options["claims"] < 1 or options["rate"] <= 0 or options["quota"] < 0:
            raise CommandError("--claims (or --rate × --seconds) and --rate must be positive.")
        portal_port, sandbox_port = free_port(), free_port()
        with scratch_database(options["database_url"], "bench-events") as url, \
                tempfile.TemporaryDirectory(prefix="bench-events-") as workdir:
            # DingTalk pushes many events at once, and not from the process that answers its API.
            env = environment(url, SANDBOX_PUSH_THREADS="16", SANDBOX_PUSH_PROCESS="true")
            run(env, "migrate", "-v0")
            claims = json.loads(run(env, "bench_events", "--prepare", "--claims", str(options["claims"]), "--events",
                                    options["events"], "--quota", str(options["quota"]), "--portal-port",
                                    str(portal_port), "--sandbox-port", str(sandbox_port)).strip().splitlines()[-1])
            processes = []
            try:
                processes += start_servers(env, portal_port, sandbox_port, Path(workdir), options["quota"])
                processes += start_workers(env, options, Path(workdir))
                processes.append(manage_process("sandbox_push", env=env, log_path=Path(workdir) / "push.log"))
                sandbox = f"http://127.0.0.1:{sandbox_port}"
                faults = requests.post(f"{sandbox}/sandbox/dingtalk/_faults", timeout=10, data=json.dumps(
                    {"reset": True, "clear_calls": True, "qps_limit": options["quota"]}))
                if faults.status_code != 200:
                    raise CommandError(f"the sandbox refused its quota: {faults.text[:200]}")
                warm_up, measured = claims[0], claims[1:]
                approve(sandbox, [warm_up], rate=1)
                wait_for_bills(sandbox, [warm_up], timeout=60)
                portal = processes[1:-1]  # the portal's web server and workers, not the sandbox and its push
                requests.delete(f"{sandbox}/sandbox/dingtalk/_calls", timeout=10)
                idle = sum(process.cpu_seconds() for process in portal)
                time.sleep(IDLE_SECONDS)  # what the portal spends waiting for work, for comparison
                cpu = sum(process.cpu_seconds() for process in portal)
                idle = cpu - idle
                web_cpu = processes[1].cpu_seconds()
                sandbox_cpu = processes[0].cpu_seconds() + processes[-1].cpu_seconds()
                measuring = time.monotonic()
                sent = approve(sandbox, measured, options["rate"])
                wait_for_bills(sandbox, measured, options["timeout"])
                cpu = sum(process.cpu_seconds() for process in portal) - cpu
                elapsed = time.monotonic() - measuring
                web_cpu = processes[1].cpu_seconds() - web_cpu
                sandbox_cpu = processes[0].cpu_seconds() + processes[-1].cpu_seconds() - sandbox_cpu
                calls = requests.get(f"{sandbox}/sandbox/dingtalk/_calls", timeout=10).json()
            finally:
                for process in reversed(processes):
                    process.stop()
            claims_file = Path(workdir) / "claims.json"
            claims_file.write_text(json.dumps([[claim, sent.get(claim)] for claim in measured]))
            report = json.loads(run(env, "bench_events", "--report", str(claims_file)).strip().splitlines()[-1])
        report.update(cpu=cpu, web_cpu=web_cpu, sandbox_cpu=sandbox_cpu, elapsed=elapsed, idle=idle, throttled=calls["outcomes"].get("throttled", 0))
        figures = self.figures(report, options)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in figures.items()))
        self.verdict(targets(figures), options)

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
        if options["quota"]:  # the portal keeps to DingTalk's quota, which the sandbox enforces (handle)
            dingtalk.rate_limit = options["quota"]
            dingtalk.save()
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
        from integrations.models import SyncRecord, SyncRun
        from sandbox.dingtalk.models import ApprovalInstance, PushedEvent

        claims = json.loads(Path(claims_file).read_text())
        sent = dict(claim for claim in claims if isinstance(claim, list))  # [id, when due] (plain ids before)
        claims = [claim[0] if isinstance(claim, list) else claim for claim in claims]
        approved = dict(ApprovalInstance.objects.filter(process_instance_id__in=claims)
                        .values_list("process_instance_id", "finish_time"))
        records = SyncRecord.objects.filter(source_key__in=claims, status=SyncRecord.Status.SUCCEEDED)
        latencies = [(booked_at - approved[key]).total_seconds()
                     for key, booked_at in records.values_list("source_key", "booked_at") if approved.get(key)]
        by_event = records.filter(booked_via=SyncRecord.Via.EVENT).count()
        # How long the event took to reach the portal (the sandbox's delivery, the portal's answer), apart from
        # what the portal did with it afterwards.
        delivered = PushedEvent.objects.filter(process_instance_id__in=claims, summary="finish/agree").exclude(
            delivered_at=None).values_list("process_instance_id", "delivered_at")
        pushes = [(at - approved[key]).total_seconds() for key, at in delivered if approved.get(key)]
        runs = [(run.finished_at - run.started_at).total_seconds()
                for run in SyncRun.objects.filter(total__gt=0).exclude(finished_at=None)]
        self.stdout.write(json.dumps({"latencies": latencies, "of": len(claims), "by_event": by_event,
                                      "runs": len(runs), "run_s": runs, "push_s": pushes,
                                      "stages": stages(claims, approved, sent)}))

    def figures(self, report, options):
        latencies = sorted(report["latencies"])
        booked = len(latencies)
        return {
            "p50_s": round(statistics.median(latencies), 2) if latencies else None,
            "p95_s": round(percentile(latencies, 0.95), 2) if latencies else None,
            "max_s": round(latencies[-1], 2) if latencies else None, "booked": booked, "of": report["of"],
            "by_event": report["by_event"], "throttled": report["throttled"],
            "cpu_ms_per_claim": round(1000 * report["cpu"] / booked, 2) if booked else None,
            "push_p95_s": round(percentile(report["push_s"], 0.95), 2) if report["push_s"] else None,
            "runs": report["runs"], "claims_per_run": round(booked / report["runs"], 1) if report["runs"] else None,
            "run_p95_s": round(percentile(report["run_s"], 0.95), 2) if report["run_s"] else None,
            # Without what the idle portal spends anyway (its broker polling …) over the same seconds.
            "busy_cpu_ms_per_claim": round(1000 * (report["cpu"] - report["idle"] / IDLE_SECONDS * report["elapsed"])
                                           / booked, 2) if booked else None,
            "web_cpu_ms_per_claim": round(1000 * report["web_cpu"] / booked, 2) if booked else None,
            "sandbox_cpu_ms_per_claim": round(1000 * report["sandbox_cpu"] / booked, 2) if booked else None,
            "idle_cpu_ms_per_s": round(1000 * report["idle"] / IDLE_SECONDS, 1),
            **{f"{name}_p50/p95_s": "/".join(map(str, spans)) for name, spans in report["stages"].items() if spans},
            "rate": f"{options['rate']:g}/s", "quota": options["quota"], "events": options["events"],
            "workers": options["workers"],
        }


def start_servers(env, portal_port, sandbox_port, workdir, quota):
    """The remote systems are other servers: the sandbox under one gunicorn (one process when it keeps a quota:
    its window is per process, and its heap is frozen so that collections do not bunch admissions: see
    devtools.bench_server), the portal under another."""
    return [gunicorn(sandbox_port, env=env, workers=1 if quota else 2, threads=16, name="bench-events-sandbox",
                     log_path=workdir / "sandbox.log", extra=("--config", "python:devtools.bench_server")),
            gunicorn(portal_port, env=env, workers=2, threads=8, name="bench-events-portal",
                     log_path=workdir / "portal.log")]


def start_workers(env, options, workdir):
    commands = [["qcluster"]]
    if options["events"] == "stream":
        commands += [["sandbox_stream", "--port", "0"], ["dingtalk_stream"]]
    return [manage_process(*command, env={**env, "Q_WORKERS": str(options["workers"])},
                           log_path=workdir / f"{command[0]}.log") for command in commands]


def approve(sandbox, claims, rate):
    """Approve at a steady rate: the i-th approval is sent i/rate seconds after the first. Returns {claim: the
    wall-clock time its approval was due}, so the report can tell a sandbox slow to approve from a late push."""
    started, wall = time.monotonic(), time.time()
    due = {}
    # A slow answer must not hold the next approvals back (the generator's lag would count as the sandbox's).
    with ThreadPoolExecutor(APPROVERS) as pool, requests.Session() as session:
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=APPROVERS))
        futures = []
        for index, instance_id in enumerate(claims):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            due[instance_id] = wall + index / rate
            futures.append(pool.submit(session.post, f"{sandbox}/sandbox/dingtalk/_approvals/{instance_id}",
                                       data=json.dumps({"action": "agree"}), timeout=30))
        for future in futures:
            if future.result().status_code != 200:
                raise CommandError(f"the sandbox refused an approval: {future.result().text[:200]}")
    return due


STAGES = ("approve", "push", "answer", "queue", "read", "write")


def stages(claims, approved, sent):
    """Where each claim's time went, in seconds, p50 and p95 per stage (every stamp is the wall clock of one
    machine): approve = due → the sandbox's finish time (the sandbox slow to approve); push = finish → the
    portal kept the event (the sandbox's push threads, the HTTP request, the portal's web server up to its
    INSERT); answer = kept → the sandbox saw the answer (the portal's reply, the sandbox's bookkeeping); queue =
    kept → the run that booked it started (the drain's queue and worker); read = run start → the record taken
    for writing (detail fetched at DingTalk's quota and judged); write = taken → bill saved."""
    from integrations.models import DingTalkEvent, SyncRecord
    from sandbox.dingtalk.models import PushedEvent

    received = dict(DingTalkEvent.objects.filter(instance_id__in=claims, change="finish/agree")
                    .exclude(outcome=DingTalkEvent.Outcome.DUPLICATE).values_list("instance_id", "received_at"))
    delivered = dict(PushedEvent.objects.filter(process_instance_id__in=claims, summary="finish/agree")
                     .exclude(delivered_at=None).values_list("process_instance_id", "delivered_at"))
    spans = {name: [] for name in STAGES}
    for key, run_started, taken, booked in SyncRecord.objects.filter(
            source_key__in=claims, status=SyncRecord.Status.SUCCEEDED).values_list(
            "source_key", "run__started_at", "last_attempt_at", "booked_at"):
        finished, kept = approved.get(key), received.get(key)
        if not (finished and kept and run_started and taken and booked):
            continue
        if sent.get(key):
            spans["approve"].append(finished.timestamp() - sent[key])
        spans["push"].append((kept - finished).total_seconds())
        if delivered.get(key):
            spans["answer"].append((delivered[key] - kept).total_seconds())
        spans["queue"].append((run_started - kept).total_seconds())
        spans["read"].append((taken - run_started).total_seconds())
        spans["write"].append((booked - taken).total_seconds())
    return {name: [round(percentile(values, 0.5), 2), round(percentile(values, 0.95), 2)] if values else None
            for name, values in spans.items()}


def wait_for_bills(sandbox, claims, timeout):
    wanted = set(claims)

    def booked():
        body = requests.get(f"{sandbox}/sandbox/kingdee/_bills", params={"form": "AP_PAYBILL"}, timeout=30).json()
        return wanted <= set(body["by_third_bill_no"])

    try:
        # Once a second: the sandbox counts every bill for each look, in the process that keeps DingTalk's quota.
        wait_until(booked, timeout, "the bills", interval=POLL_SECONDS)
    except TimeoutError:
        pass  # the report says how many were booked

