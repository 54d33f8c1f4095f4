import argparse
import json
import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import CommandError

from devtools.bench import BenchCommand, at_most
from devtools.processes import free_port, gunicorn, run

TARGET_P95_MS = 500


def targets(figures):
    """Issue 12: searches through the page by 20 users, p95 at most 500 ms."""
    return [at_most("p95_ms", figures["p95_ms"], TARGET_P95_MS)]
SCRATCH_FLAG = "BENCH_LOOKUP_SCRATCH_DATABASE"


class Command(BenchCommand):
    help = (
        "Benchmark the inventory lookup inside DingTalk as it is deployed: a scratch database (a new SQLite file "
        "under var/, or --database-url) with the sandbox seed plus N materials in three warehouses; the sandbox "
        "Kingdee served by gunicorn in its own processes, the portal by gunicorn in others (--workers × --threads); "
        "then S searches over HTTP by U concurrent users, each with a signed-in session, through the lookup page "
        "(search words drawn from a pool of P, so some repeat within the cache time). Prints "
        "`p50_ms=… p95_ms=… kingdee_calls=…` (Kingdee queries counted by the portal's workers), the portal's and the "
        "sandbox's CPU per search, and the target p95 ≤ 500 ms as PASS or FAIL (exit 1 on FAIL; --no-targets only "
        "measures). Run it after changing the lookup or the sandbox's query code."
    )

    def add_arguments(self, parser):
        parser.add_argument("--materials", type=int, default=1000)
        parser.add_argument("--searches", type=int, default=1000)
        parser.add_argument("--users", type=int, default=20)
        parser.add_argument("--pool", type=int, default=100, help="distinct search words")
        parser.add_argument("--cache-seconds", type=int, default=60)
        parser.add_argument("--workers", type=int, default=2, help="the portal's gunicorn workers")
        parser.add_argument("--threads", type=int, default=4, help="threads per portal worker")
        parser.add_argument("--database-url", default="", help="default: a new SQLite file under var/")
        parser.add_argument("--fill", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--prepare", default="", help=argparse.SUPPRESS)  # internal: the sandbox's URL

    def handle(self, *args, **options):
        if options["fill"] or options["prepare"]:
            if os.environ.get(SCRATCH_FLAG) != os.environ.get("DATABASE_URL"):
                raise CommandError("--fill and --prepare run only in the scratch database bench_lookup creates.")
            return self.fill(options) if options["fill"] else self.prepare(options)
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The benchmark runs against the sandbox: set PORTAL_SANDBOX=true.")
        if min(options["materials"], options["searches"], options["users"], options["pool"], options["workers"],
               options["threads"]) < 1:
            raise CommandError("--materials, --searches, --users, --pool, --workers and --threads must be positive.")
        env = self.environment(options["database_url"])
        run(env, "migrate", "-v0")
        run(env, "bench_lookup", "--fill", "--materials", str(options["materials"]))
        sandbox_port, portal_port = free_port(), free_port()
        sandbox = gunicorn(sandbox_port, env=env, workers=2, threads=16, name="bench-lookup-sandbox",
                           extra=("--timeout", "120", "--config", "python:devtools.bench_server"))
        try:
            prepared = run(env, "bench_lookup", "--prepare", f"http://127.0.0.1:{sandbox_port}",
                           *self.passed(options))
            plan = json.loads(prepared.strip().splitlines()[-1])
            figures = self.serve_and_search(env, portal_port, sandbox, plan, options)
        finally:
            sandbox.stop()
        times, missed = figures["times"], figures["missed"]
        misses, hits = [t for t, m in zip(times, missed) if m], [t for t, m in zip(times, missed) if not m]
        searches = max(1, len(times))
        p95 = round(_percentile(times, 95))
        self.stdout.write(f"p50_ms={_percentile(times, 50):.0f} p95_ms={p95} kingdee_calls={figures['calls']}")
        self.stdout.write(
            f"searches={len(times)} users={options['users']} pool={options['pool']} materials={options['materials']} "
            f"cache_seconds={options['cache_seconds']} portal={options['workers']}x{options['threads']} "
            f"answered={figures['outcomes'].get(200, 0)} "
            f"other_status={sum(n for s, n in figures['outcomes'].items() if s != 200)}")
        self.stdout.write(f"misses={len(misses)} miss_p50_ms={_percentile(misses, 50):.0f} "
                          f"miss_p95_ms={_percentile(misses, 95):.0f} hit_p50_ms={_percentile(hits, 50):.0f} "
                          f"hit_p95_ms={_percentile(hits, 95):.0f}")
        self.stdout.write(f"portal_cpu_s={figures['portal_cpu']:.1f} "
                          f"portal_cpu_ms_per_search={figures['portal_cpu'] * 1000 / searches:.1f} "
                          f"sandbox_cpu_s={figures['sandbox_cpu']:.1f} "
                          f"sandbox_cpu_ms_per_call={figures['sandbox_cpu'] * 1000 / max(1, figures['calls']):.1f}")
        self.verdict(targets({"p95_ms": p95}), options)

    def serve_and_search(self, env, port, sandbox, plan, options):
        """The portal under gunicorn; the users' searches over HTTP; the portal's own Kingdee counts."""
        counts = Path(tempfile.mkdtemp(prefix="bench-lookup-counts-", dir=Path(settings.BASE_DIR) / "var"))
        portal = gunicorn(port, env={**env, "BENCH_LOOKUP_COUNTS": str(counts)}, workers=options["workers"],
                          threads=options["threads"], name="bench-lookup-portal",
                          extra=("--timeout", "120", "--config", "python:devtools.bench_lookup_server"))
        try:
            url = f"http://127.0.0.1:{port}/m/inventory/"
            warm_up(url, plan["sessions"], options["workers"] * options["threads"])
            portal_before, sandbox_before = portal.cpu_seconds(), sandbox.cpu_seconds()
            times, outcomes, missed = run_searches(url, plan["sessions"], plan["words"])
            portal_cpu, sandbox_cpu = portal.cpu_seconds() - portal_before, sandbox.cpu_seconds() - sandbox_before
        finally:
            portal.stop()
        calls = sum(json.loads(path.read_text())["kingdee_calls"] for path in counts.glob("*.json"))
        workers_counted = len(list(counts.glob("*.json")))
        shutil.rmtree(counts, ignore_errors=True)
        if workers_counted < options["workers"]:
            raise CommandError(f"only {workers_counted} of {options['workers']} portal workers reported their "
                               f"Kingdee calls:\n{portal.output()[-2000:]}")
        return {"times": times, "outcomes": outcomes, "missed": missed, "calls": calls, "portal_cpu": portal_cpu,
                "sandbox_cpu": sandbox_cpu}

    @staticmethod
    def passed(options):
        return ["--searches", str(options["searches"]), "--users", str(options["users"]), "--pool",
                str(options["pool"]), "--cache-seconds", str(options["cache_seconds"]), "--materials",
                str(options["materials"])]

    def environment(self, database_url):
        if not database_url:
            path = Path(settings.BASE_DIR) / "var" / "bench-lookup.sqlite3"
            path.parent.mkdir(exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            database_url = f"sqlite:///{path}"
        return {**os.environ, "DATABASE_URL": database_url, SCRATCH_FLAG: database_url, "PORTAL_SANDBOX": "true",
                "LOG_LEVEL": "WARNING", "PYTHONPATH": str(settings.BASE_DIR)}

    # ---- inside the scratch database ------------------------------------------------------------

    def fill(self, options):
        from django.db import connection

        from sandbox.kingdee.trade import fill_materials

        fill_materials(options["materials"])
        if connection.vendor == "postgresql":  # a bulk fill leaves no statistics: the planner would ignore pg_trgm
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE sandbox_kingdee_formrecord")

    def prepare(self, options):
        """Connections to the sandbox, the lookup's settings, one visibility group, and a signed-in session per
        user (as the lookup's login leaves it); prints {"sessions": [...], "words": [...]} as JSON."""
        from django.contrib.sessions.backends.db import SessionStore

        from devtools import demo
        from devtools.sso_demo import setup_demo_sso
        from mobile.models import InventoryScope, LookupSettings
        from mobile.views import SESSION_KEY
        from sandbox import roster
        from sso.identities import seed_demo_identities
        from sso.models import IdentityMap

        credentials = json.loads(self.seed_credentials())
        dingtalk, _robot, kingdee = demo.sandbox_connections(options["prepare"], credentials)
        kingdee.rate_limit, kingdee.max_concurrency = 1000.0, options["users"]
        kingdee.save()
        setup_demo_sso(kingdee, credentials["kingdee_sso"], dingtalk)
        people = roster.employees(40)[: options["users"]]
        seed_demo_identities(people, unmapped=0)
        LookupSettings.objects.all().delete()
        LookupSettings.objects.create(kingdee=kingdee, cache_seconds=options["cache_seconds"],
                                      searches_per_minute=options["searches"])
        scope = InventoryScope.objects.create(name="bench")
        scope.members.set(IdentityMap.objects.filter(dingtalk_userid__in=[p.userid for p in people]))
        sessions = []
        for person in people:
            session = SessionStore()
            session[SESSION_KEY] = person.userid
            session.create()
            sessions.append(session.session_key)
        self.stdout.write(json.dumps({"sessions": sessions, "words": self.words(options)}))

    def seed_credentials(self):
        from io import StringIO

        from django.core.management import call_command

        out = StringIO()
        call_command("sandbox_seed", instances=0, employees=40, json=True, stdout=out)
        return out.getvalue()

    @staticmethod
    def words(options):
        """The search words salespeople type: material numbers, name words and specifications, `pool` of them."""
        from sandbox.kingdee.models import FormRecord

        rng = random.Random(7)
        materials = list(FormRecord.objects.filter(form_id="BD_MATERIAL").values_list("number", "name", "model"))
        pool = []
        for number, name, model in rng.sample(materials, min(len(materials), options["pool"])):
            pool.append(rng.choice([number, name, name.split()[-1], str(model.get("FSpecification") or number)]))
        return [rng.choice(pool) for _search in range(options["searches"])]


def _session(session_key):
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, session_key, domain="127.0.0.1", path="/")
    return session


def warm_up(url, session_keys, count):
    """Opens the empty page a few times, so that every worker thread has its templates loaded and its database
    connection open before the clock starts; asks Kingdee nothing."""
    with _session(session_keys[0]) as session:
        for _attempt in range(count * 2):
            response = session.get(url, timeout=60)
            if response.status_code != 200:
                raise CommandError(f"the lookup page answered {response.status_code} before the searches")


def run_searches(url, session_keys, words):
    """Each user a thread with a keep-alive HTTP session and their own session cookie, taking the next search
    from the shared list. Whether the portal asked Kingdee is its `X-Lookup-Cache` answer (hit or miss)."""
    times, outcomes, missed, lock, queue = [], {}, [], threading.Lock(), list(enumerate(words))

    def user(session_key):
        with _session(session_key) as session:
            while True:
                with lock:
                    if not queue:
                        return
                    _index, word = queue.pop()
                started = time.perf_counter()
                response = session.get(url, params={"q": word}, timeout=120)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    times.append(elapsed)
                    missed.append(response.headers.get("X-Lookup-Cache") == "miss")
                    outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1

    threads = [threading.Thread(target=user, args=(key,)) for key in session_keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, outcomes, missed


def _percentile(values, percent):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(percent / 100 * len(ordered)))] if ordered else 0
