import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import CommandError

from devtools.bench import BenchCommand, at_most, environment, percentile
from devtools.processes import answers, free_port, run as manage, stop, wait_until

DINGTALK_QPS = 20  # per app and API, a standard-edition organisation (reference §8)
CHANGES = 50
EVENT_TARGET_S = 5.0


def targets(figures, employees):
    """Issue 11: a comparison with nothing changed makes at most 1 DingTalk call per 100 employees and no Kingdee
    write; nothing throttled; changes arrive by event with p95 at most 5 s; the first sync fails nothing."""
    per_100 = round(figures["dingtalk_calls"] / max(1, employees / 100), 2)
    return [at_most("comparison_dingtalk_calls_per_100", per_100, 1),
            at_most("comparison_kingdee_writes", figures["kingdee_writes"], 0),
            at_most("throttled", figures["throttled"], 0),
            at_most("event_p95_s", figures["event_p95_s"], EVENT_TARGET_S),
            at_most("changes_not_arrived", figures["event_changes"] - figures["event_arrived"], 0),
            at_most("initial_failed", figures["initial_failed"], 0)]


class Command(BenchCommand):
    help = (
        "Benchmark the org sync: a fresh SQLite database (or --database-url) with a DingTalk sandbox company of "
        "N employees in M departments under DingTalk's real limits (20 calls/s per API), the sandbox and the portal "
        "under gunicorn on loopback, a qcluster. Measures the first sync, a comparison with nothing changed (the "
        "second run of both schemes: within the comparison's call budget) and 50 changes by event (10 joiners, 10 "
        "updates, 10 movers, 10 leavers, then those leavers hired again), and prints initial_s=… compare_s=… "
        "dingtalk_calls=… kingdee_writes=… event_p95_s=… throttled=…, with targets (comparison: ≤ 1 DingTalk call per 100 employees, 0 Kingdee "
        "writes, 0 throttles; events p95 ≤ 5 s) as PASS/FAIL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--employees", type=int, default=500)
        parser.add_argument("--departments", type=int, default=30)
        parser.add_argument("--workers", type=int, default=2, help="qcluster worker processes")
        parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for the changes to arrive")
        parser.add_argument("--database-url", default="", help="default: a new SQLite file under var/")
        parser.add_argument("--step", default="", help=argparse.SUPPRESS)
        parser.add_argument("--sandbox-port", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--portal-port", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--changes-file", default="", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["step"]:
            return getattr(self, f"step_{options['step']}")(options)
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The benchmark runs against the sandbox: set PORTAL_SANDBOX=true (and DEBUG=true).")
        if options["employees"] < 1 or not 1 <= options["departments"] <= options["employees"]:
            raise CommandError("--employees must be positive and --departments between 1 and --employees.")
        figures = self.run(options)
        self.report(figures, options)

    # --- the outside: servers, workers, steps -----------------------------------------------------

    def run(self, options):
        env = environment(_database(options["database_url"]))
        ports = {"--sandbox-port": str(free_port()), "--portal-port": str(free_port())}
        sandbox = f"http://127.0.0.1:{ports['--sandbox-port']}"
        manage(env, "migrate", "-v0")
        self.step(env, "prepare", options, ports)
        with tempfile.TemporaryDirectory(prefix="bench-org-") as workdir:
            processes = []
            try:
                processes += servers(env, ports, Path(workdir))
                processes.append(worker(env, options, Path(workdir)))
                clear_calls(sandbox)
                initial = self.step(env, "sync", options, ports)
                throttled = throttles(sandbox)
                clear_calls(sandbox)
                compare = self.step(env, "sync", options, ports)
                calls, by_api = dingtalk_calls(sandbox)
                figures = {"initial_s": initial["seconds"], "compare_s": compare["seconds"], "by_api": by_api,
                           "dingtalk_calls": calls, "kingdee_writes": kingdee_writes(sandbox),
                           "throttled": throttled + throttles(sandbox), "initial_failed": initial["failed"]}
                self.step(env, "push", options, ports)
                latencies, arrived, changes = [], 0, []
                for phase in (1, 2):  # joiners, updates, movers, leavers; then the leavers hired again
                    made = apply_changes(sandbox, options["employees"], options["departments"], phase)
                    changes_file = Path(workdir) / f"changes-{phase}.json"
                    changes_file.write_text(json.dumps(made))
                    latencies += self.wait_for_changes(env, options, ports, changes_file)
                    changes += made
                kinds = Counter(change["kind"] for change in changes)
                figures.update(event_p95_s=percentile(sorted(latencies), 0.95) if latencies else math.inf,
                               event_arrived=len(latencies), event_changes=len(changes), event_kinds=dict(kinds),
                               throttled=figures["throttled"] + throttles(sandbox))
            finally:
                for process in reversed(processes):
                    stop(process)
        return figures

    def step(self, env, name, options, ports, *extra):
        args = ["bench_org", "--step", name, "--employees", str(options["employees"]), "--departments",
                str(options["departments"]), *[part for pair in ports.items() for part in pair], *extra]
        return json.loads(manage(env, *args).strip().splitlines()[-1])

    def wait_for_changes(self, env, options, ports, changes_file):
        deadline = time.monotonic() + options["timeout"]
        while True:
            report = self.step(env, "arrived", options, ports, "--changes-file", str(changes_file))
            if report["missing"] == 0 or time.monotonic() > deadline:
                return sorted(report["latencies"])
            time.sleep(1)

    def report(self, figures, options):
        self.stdout.write(
            f"initial_s={figures['initial_s']:.1f} compare_s={figures['compare_s']:.1f} "
            f"dingtalk_calls={figures['dingtalk_calls']} kingdee_writes={figures['kingdee_writes']} "
            f"event_p95_s={figures['event_p95_s']:.2f} throttled={figures['throttled']} "
            f"employees={options['employees']} departments={options['departments']} "
            f"events_arrived={figures['event_arrived']}/{figures['event_changes']} "
            f"initial_failed={figures['initial_failed']}")
        self.stdout.write("changes by event: " + ", ".join(
            f"{kind}={count}" for kind, count in sorted(figures["event_kinds"].items())))
        self.stdout.write("comparison DingTalk calls by API: " + ", ".join(
            f"{api}={count}" for api, count in sorted(figures["by_api"].items())))
        self.verdict(targets(figures, options["employees"]), options)

    # --- the inside: steps in the benchmark database ------------------------------------------------

    def step_prepare(self, options):
        """Seed, build the company, connect at DingTalk's real limits, make the org schemes (events off)."""
        from devtools import demo
        from integrations.market import org
        from integrations.models import Scheme
        from sandbox.dingtalk.models import App

        credentials = demo.seed_sandbox(instances=0, employees=4)
        build_company(options["employees"], options["departments"])
        sandbox = f"http://127.0.0.1:{options['sandbox_port']}"
        dingtalk, _robot, kingdee = demo.sandbox_connections(sandbox, credentials)
        dingtalk.rate_limit, dingtalk.max_concurrency = DINGTALK_QPS, 4
        kingdee.rate_limit, kingdee.max_concurrency = 50, 4
        dingtalk.save()
        kingdee.save()
        schemes = org.org_schemes(dingtalk) or org.create_org_schemes(source_connection=dingtalk,
                                                                      target_connection=kingdee)
        for scheme in schemes:
            scheme.schedule_kind = Scheme.ScheduleKind.MANUAL  # the benchmark runs the comparisons itself
            scheme.save()
        App.objects.update(push_mode="")
        self.stdout.write(json.dumps({"ok": True}))

    def step_sync(self, options):
        """One run of the departments scheme, then of the people scheme (what the schedule does)."""
        from integrations import engine
        from integrations.market import org
        from integrations.models import Connection

        dingtalk = Connection.objects.get(kind="dingtalk", base_url__contains=str(options["sandbox_port"]))
        started = time.monotonic()
        failed = 0
        for scheme in org.org_schemes(dingtalk):
            run = engine.run_scheme(scheme.pk)
            failed += run.failed_count if run else 0
        self.stdout.write(json.dumps({"seconds": time.monotonic() - started, "failed": failed}))

    def step_push(self, options):
        from devtools import demo
        from integrations.market import org
        from integrations.models import Connection

        dingtalk = Connection.objects.get(kind="dingtalk", base_url__contains=str(options["sandbox_port"]))
        for scheme in org.org_schemes(dingtalk):
            scheme.event_trigger = True
            scheme.save()
        demo.sandbox_push(f"http://127.0.0.1:{options['portal_port']}", dingtalk, "callback")
        self.stdout.write(json.dumps({"ok": True}))

    def step_arrived(self, options):
        """Seconds from each change (the door's answer) to the Kingdee employee showing it: a joiner's or an
        updated mobile, a mover's department, a leaver forbidden, a re-hire enabled again."""
        from sandbox.kingdee.models import FormRecord

        changes = json.loads(Path(options["changes_file"]).read_text())
        records = {r.number: r for r in FormRecord.objects.filter(form_id="BD_Empinfo",
                                                                  number__in=[c["number"] for c in changes])}
        latencies, missing = [], 0
        for change in changes:
            record, at = records.get(change["number"]), datetime.fromisoformat(change["at"])
            if record is None or not shows(record, change, at):
                missing += 1
                continue
            latencies.append(max(0.0, (record.modified_at - at).total_seconds()))
        self.stdout.write(json.dumps({"latencies": latencies, "missing": missing}))


def shows(record, change, at):
    kind = change["kind"]
    if kind in ("add_user", "update_user"):
        return record.model.get("FMobile") == change["mobile"] and not record.forbidden
    if kind == "move":
        post = ((record.model.get("FPostEntity") or [{}])[0].get("FPostDept") or {}).get("FNumber", "")
        return post == change["dept"]
    if kind == "leave":
        return record.forbidden
    return not record.forbidden and record.modified_at >= at  # rehire


def build_company(employees, departments, seed=11):
    """M departments (a few top-level ones, the rest below a random earlier one) and N people spread over
    them, written straight into the DingTalk sandbox's tables (no events)."""
    from sandbox.dingtalk.models import Department, Employee

    rng = random.Random(seed)
    Employee.objects.filter(active=True).update(active=False)  # the seed's few people leave the picture
    base = 700000000
    depts = []
    for index in range(departments):
        parent = 1 if index < max(1, departments // 10) else rng.choice(depts).dept_id
        depts.append(Department(dept_id=base + index, name=f"部门{index:04d}", parent_id=parent, order=index))
    Department.objects.bulk_create(depts, batch_size=500)
    people = [Employee(userid=f"bench{index:06d}", unionid=f"union{index:06d}", name=f"员工{index:06d}",
                       mobile=f"139{index:08d}", job_number=f"B{index:06d}", title="职员")
              for index in range(employees)]
    Employee.objects.bulk_create(people, batch_size=1000)
    Through = Employee.departments.through
    saved = dict(Employee.objects.filter(userid__startswith="bench").values_list("userid", "pk"))
    dept_pks = [d.pk for d in Department.objects.filter(dept_id__gte=base)]
    Through.objects.bulk_create([Through(employee_id=saved[p.userid], department_id=dept_pks[i % len(dept_pks)])
                                 for i, p in enumerate(people)], batch_size=1000)


def apply_changes(sandbox, employees, departments, phase, rate=5.0):
    """Phase 1: 40 changes through the contacts door, `rate` per second: 10 joiners, 10 new mobile numbers, 10
    movers, 10 leavers. Phase 2: the 10 leavers hired again. Each with the number Kingdee knows them by."""
    rng = random.Random(50)
    chosen = rng.sample(range(employees), min(CHANGES, employees))
    share = CHANGES // 5
    updates, movers, leavers = chosen[:share], chosen[share:2 * share], chosen[2 * share:3 * share]
    planned = []
    if phase == 1:
        for n in range(share):
            planned.append(("add_user", {"userid": f"joiner{n:04d}", "name": f"新员工{n:04d}", "job_number": f"J{n:06d}",
                                         "mobile": f"136{n:08d}", "dept_id_list": [700000000 + n % departments]},
                            {"number": f"J{n:06d}", "mobile": f"136{n:08d}"}))
        for index in updates:
            planned.append(("update_user", {"userid": f"bench{index:06d}", "mobile": f"137{index:08d}"},
                            {"number": f"B{index:06d}", "mobile": f"137{index:08d}"}))
        for index in movers:
            dept = 700000000 + (index + 1) % departments
            planned.append(("move", {"action": "update_user", "userid": f"bench{index:06d}", "dept_id_list": [dept]},
                            {"number": f"B{index:06d}", "dept": f"DT{dept}"}))
        for index in leavers:
            planned.append(("leave", {"userid": f"bench{index:06d}"}, {"number": f"B{index:06d}"}))
    else:
        for index in leavers:
            planned.append(("rehire", {"action": "add_user", "userid": f"bench{index:06d}", "name": f"员工{index:06d}",
                                       "job_number": f"B{index:06d}", "mobile": f"139{index:08d}",
                                       "dept_id_list": [700000000 + index % departments]},
                            {"number": f"B{index:06d}"}))
    started, changes = time.monotonic(), []
    with requests.Session() as session:
        for position, (kind, body, expected) in enumerate(planned):
            time.sleep(max(0.0, started + position / rate - time.monotonic()))
            response = session.post(f"{sandbox}/sandbox/dingtalk/_contacts", timeout=30,
                                    json={"action": kind, **body})
            if response.status_code != 200:
                raise CommandError(f"the sandbox refused a change: {response.text[:200]}")
            changes.append({"kind": kind, **expected, "at": datetime.now(dt_timezone.utc).isoformat()})
    return changes


def servers(env, ports, workdir):
    """The sandbox in one process (DingTalk's per-API QPS window and the call log live in it), the portal apart."""
    processes = []
    for port, name, workers in ((ports["--sandbox-port"], "sandbox", 1), (ports["--portal-port"], "portal", 2)):
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", "16", "--worker-class", "gthread", "--log-level",
                   "warning", "-c", "python:devtools.bench_server"]
        log = open(workdir / f"{name}.log", "wb")
        processes.append(subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, stdout=log, stderr=log,
                                          start_new_session=True))
        wait_until(lambda port=port: answers(f"http://127.0.0.1:{port}/healthz"), 60, f"gunicorn on {port}")
    requests.post(f"http://127.0.0.1:{ports['--sandbox-port']}/sandbox/dingtalk/_faults", timeout=10,
                  json={"qps_limit": DINGTALK_QPS, "latency_ms": 0, "server_error_rate": 0, "timeout_rate": 0,
                        "event_duplicate_rate": 0})
    return processes


def worker(env, options, workdir):
    log = open(workdir / "qcluster.log", "wb")
    return subprocess.Popen([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"],
                            env={**env, "Q_WORKERS": str(options["workers"])}, cwd=settings.BASE_DIR, stdout=log,
                            stderr=log, start_new_session=True)


def clear_calls(sandbox):
    requests.delete(f"{sandbox}/sandbox/dingtalk/_calls", timeout=10)
    requests.delete(f"{sandbox}/sandbox/kingdee/_calls", timeout=10)


def dingtalk_calls(sandbox):
    """Calls to DingTalk's APIs (tokens aside): (total, {api: count})."""
    body = requests.get(f"{sandbox}/sandbox/dingtalk/_calls", params={"list": 1}, timeout=30).json()
    paths = Counter(path.split("/sandbox/dingtalk/", 1)[-1] for _t, path, _outcome in body.get("calls", [])
                    if "token" not in path.lower())
    return sum(paths.values()), dict(paths)


def kingdee_writes(sandbox):
    body = requests.get(f"{sandbox}/sandbox/kingdee/_calls", timeout=30).json()
    writes = ("Save", "BatchSave", "ExcuteOperation", "ExecuteOperation", "Submit", "Audit", "Delete")
    return sum(1 for row in body["calls"] if row["service"].split(".")[-1] in writes)


def throttles(sandbox):
    dingtalk = requests.get(f"{sandbox}/sandbox/dingtalk/_calls", timeout=30).json()["outcomes"]
    kingdee = requests.get(f"{sandbox}/sandbox/kingdee/_calls", timeout=30).json()["outcomes"]
    return sum(count for outcome, count in {**dingtalk}.items() if "throttl" in outcome or "qps" in outcome) + \
        kingdee.get("throttled", 0)


def _database(url):
    if url:
        return url
    path = Path(settings.BASE_DIR) / "var" / "bench-org.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"

