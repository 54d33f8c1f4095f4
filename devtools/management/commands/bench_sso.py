import argparse
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from requests.adapters import HTTPAdapter

from devtools.bench import BenchCommand, at_most, environment, percentile, require_sandbox, scratch_database
from devtools.processes import free_port, gunicorn, run

LOGIN_PATH = "/sso/dingtalk/login"
# Each simulated employee calls from an address of its own on loopback (127.0.1.0/24), as
# employees do from their own phones, so the per-IP limit stays on and is measured too.
SOURCE_ADDRESSES = [f"127.0.1.{i}" for i in range(1, 255)]
CODE_SECONDS = 240  # the sandbox's auth codes live five minutes; the codes are issued before the load starts
# Logins sent before the measured ones, all at once, so that every thread of every worker has imported the URL
# configuration and the client modules and opened its connections: a server answers logins all day; its first
# seconds (about a second of CPU per worker) are not what a login costs.
WARM_UP_PER_THREAD = 2


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, address, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address):
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(address))
    return session


def targets(figures):
    """Issue 17: at most 3 ms of portal CPU per login and a server p99 of at most 50 ms at 100 logins/s offered,
    every login ending in a Kingdee link."""
    return [at_most("portal_cpu_ms_per_login", figures["cpu_ms_per_login"], 3),
            at_most("server_p99_ms", figures["server_p99_ms"], 50),
            at_most("failed_logins", figures["logins"] - figures["ok"], 0)]


class Command(BenchCommand):
    help = (
        "Benchmark SSO logins: a scratch database (a temporary SQLite file, or --database-url, created and "
        "dropped) with a seeded sandbox, the sandbox under one gunicorn and the portal under another (the remote "
        "systems are other servers), and N logins (auth code → /sso/dingtalk/login → signed Kingdee link) "
        "offered at --rate per second (the codes are issued beforehand, so the generator's own sandbox requests "
        "are not part of the rate). Prints the portal's CPU per login (its gunicorn workers, from /proc), the "
        "achieved rate and the server-side p50/p99 from gunicorn's access log, then the targets."
    )

    def add_arguments(self, parser):
        parser.add_argument("--logins", type=int, default=1000)
        parser.add_argument("--rate", type=float, default=100, help="logins offered per second (0: as fast as "
                                                                         "--concurrency employees can)")
        parser.add_argument("--concurrency", type=int, default=32, help="most logins in flight at once")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
        parser.add_argument("--database-url", default="", help="postgres://…/NAME to create, use and drop")
        parser.add_argument("--sqlite-conn-max-age", type=int, default=60, help=(
            "SQLITE_CONN_MAX_AGE of the servers: seconds connections are kept between requests (the default; 0 "
            "opens one per request: about half of a login's CPU)"))
        parser.add_argument("--prepare", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--sandbox-port", type=int, default=0, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["prepare"]:
            return self.prepare(options["sandbox_port"], options["prepare"])
        require_sandbox()
        if options["logins"] < 1 or options["concurrency"] < 1 or options["rate"] < 0:
            raise CommandError("--logins and --concurrency must be positive, --rate not negative.")
        if options["rate"] and options["logins"] / options["rate"] > CODE_SECONDS:
            raise CommandError(f"--logins / --rate must stay under {CODE_SECONDS} s: the codes would expire.")
        port, sandbox_port = free_port(), free_port()
        with scratch_database(options["database_url"], "bench-sso") as url, \
                tempfile.TemporaryDirectory(prefix="bench-sso-") as workdir:
            env = environment(url, SQLITE_CONN_MAX_AGE=str(options["sqlite_conn_max_age"]))
            access_log = Path(workdir) / "access.log"
            servers = []
            run(env, "migrate", "-v0")
            try:
                servers.append(gunicorn(sandbox_port, env=env, workers=2, threads=8, name="bench-sso-sandbox",
                                        log_path=Path(workdir) / "sandbox.log"))
                warm_up = WARM_UP_PER_THREAD * options["workers"] * options["threads"]
                people = json.loads(run(env, "bench_sso", "--prepare", str(options["logins"] + warm_up),
                                        "--sandbox-port", str(sandbox_port)).strip().splitlines()[-1])
                warm_codes, people["codes"] = people["codes"][:warm_up], people["codes"][warm_up:]
                servers.append(gunicorn(port, env=env, workers=options["workers"], threads=options["threads"],
                                        name="bench-sso-portal", log_path=Path(workdir) / "portal.log", extra=[
                                            "--access-logfile", str(access_log), "--access-logformat",
                                            "%(U)s %(s)s %(M)s"]))
                portal = servers[-1]
                self.warm_up(port, people["corp_id"], warm_codes, options)
                cpu = portal.cpu_seconds()
                result = self.load(port, people, options)
                result["cpu"] = portal.cpu_seconds() - cpu
                result["landed"] = sum(requests.get(url, timeout=30).status_code == 200
                                       for ok, url in result.pop("outcomes")[:5] if ok)
            finally:
                for server in servers:
                    server.stop()
            server_ms = login_times(access_log)[len(warm_codes):]  # the warm-up's lines come first
        figures = self.figures(result, server_ms, options)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in figures.items()))
        self.verdict(targets(figures), options)

    # --- set-up ------------------------------------------------------------------------------

    def prepare(self, port, logins):
        """Inside the benchmark database: seed, connect, configure SSO, map everyone, and issue one auth code per
        login (as `dd.requestAuthCode` would inside DingTalk). Prints the corpId and the codes."""
        from devtools.sso_demo import setup_demo_sso
        from integrations.models import Connection
        from sandbox import roster
        from sandbox.dingtalk.models import AuthCode, Employee
        from sandbox.dingtalk.views.sso import issue_code
        from sso.models import IdentityMap

        out = tempfile.SpooledTemporaryFile(mode="w+")
        call_command("sandbox_seed", "--json", "--instances", "0", stdout=out)
        out.seek(0)
        credentials = json.loads(out.read())
        base = f"http://127.0.0.1:{port}/sandbox/"
        app, kd = credentials["dingtalk"], credentials["kingdee"]
        dingtalk, _ = Connection.objects.update_or_create(name="bench DingTalk", defaults=dict(
            kind="dingtalk", base_url=base + "dingtalk/", api_base_url=base + "dingtalk/", app_key=app["app_key"],
            app_secret=app["app_secret"], corp_id=app["corp_id"], agent_id=app["agent_id"], rate_limit=10000))
        kingdee, _ = Connection.objects.update_or_create(name="bench Kingdee", defaults=dict(
            kind="kingdee", base_url=base + "kingdee/", acct_id=kd["acct_id"], username=kd["username"],
            app_id=kd["app_id"], app_secret=kd["app_secret"]))
        setup_demo_sso(kingdee, credentials["kingdee_sso"], dingtalk)
        people = [p for p in roster.employees(roster.DEFAULT_EMPLOYEES) if p.active]
        IdentityMap.objects.bulk_create([IdentityMap(dingtalk=dingtalk, dingtalk_userid=p.userid, name=p.name,
                                                     kingdee_username=p.kingdee_username,
                                                     kingdee_staff_number=p.job_number) for p in people])
        employees = list(Employee.objects.filter(userid__in=[p.userid for p in people]).order_by("userid"))
        codes = [issue_code(employees[n % len(employees)], AuthCode.Kind.JSAPI) for n in range(logins)]
        self.stdout.write(json.dumps({"corp_id": app["corp_id"], "codes": codes}))

    def warm_up(self, port, corp_id, codes, options):
        """The warm-up logins, as many at once as the workers have threads; they must land too."""
        url = f"http://127.0.0.1:{port}{LOGIN_PATH}"

        def one(n):
            response = session_from(SOURCE_ADDRESSES[-1 - n % 16]).get(
                url, params={"code": codes[n], "corpId": corp_id}, allow_redirects=False, timeout=60)
            return response.status_code

        with ThreadPoolExecutor(options["workers"] * options["threads"]) as pool:
            statuses = list(pool.map(one, range(len(codes))))
        if any(status != 302 for status in statuses):
            raise CommandError(f"warm-up logins failed: {sorted(set(statuses))}")

    # --- load --------------------------------------------------------------------------------

    def load(self, port, people, options):
        """Login n is sent n / rate seconds after the first (or at once with --rate 0), by at most --concurrency
        callers; a login that starts late because all callers were busy is counted as late."""
        url, corp_id, codes = f"http://127.0.0.1:{port}{LOGIN_PATH}", people["corp_id"], people["codes"]
        rate, local, lock = options["rate"], threading.local(), threading.Lock()
        outcomes, client_ms, late = [], [], [0]
        started = time.monotonic()

        def one(n):
            due = started + n / rate if rate else started
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.05:
                with lock:
                    late[0] += 1
            if not hasattr(local, "sessions"):
                local.sessions = {}
            address = SOURCE_ADDRESSES[n % len(SOURCE_ADDRESSES)]
            session = local.sessions.setdefault(address, session_from(address))
            began = time.perf_counter()
            response = session.get(url, params={"code": codes[n], "corpId": corp_id}, allow_redirects=False,
                                   timeout=30)
            elapsed = (time.perf_counter() - began) * 1000
            location = response.headers.get("Location", "")
            ok = response.status_code == 302 and "/sandbox/kingdee/html5/index.aspx?ud=" in location
            with lock:
                outcomes.append((ok, location))
                client_ms.append(elapsed)

        with ThreadPoolExecutor(options["concurrency"]) as pool:
            list(pool.map(one, range(options["logins"])))
        wall = time.monotonic() - started
        return {"wall": wall, "ok": sum(ok for ok, _url in outcomes), "client_ms": client_ms, "late": late[0],
                "outcomes": outcomes}

    def figures(self, result, server_ms, options):
        if not server_ms:
            raise CommandError("no login requests in gunicorn's access log")
        logins = options["logins"]
        return {
            "logins": logins, "ok": result["ok"], "offered_per_s": options["rate"] or "max",
            "logins_per_s": round(result["ok"] / result["wall"], 1), "late": result["late"],
            "cpu_ms_per_login": round(1000 * result["cpu"] / logins, 2),
            "server_p50_ms": statistics.median(server_ms), "server_p99_ms": percentile(server_ms, 0.99),
            "client_p50_ms": round(statistics.median(result["client_ms"]), 1),
            "client_p99_ms": round(percentile(result["client_ms"], 0.99), 1),
            "workers": f"{options['workers']}x{options['threads']}", "landings_verified": result["landed"],
            "database": options["database_url"].partition(":")[0] or "sqlite",
            "sqlite_conn_max_age": options["sqlite_conn_max_age"],
        }


def login_times(access_log):
    """Milliseconds of each /sso/dingtalk/login request as gunicorn measured it (%(M)s)."""
    times = []
    for line in access_log.read_text().splitlines():
        path, _status, millis = (line.split() + ["", "", ""])[:3]
        if path == LOGIN_PATH and millis.isdigit():
            times.append(int(millis))
    return times
