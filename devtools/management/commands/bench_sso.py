import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from requests.adapters import HTTPAdapter

LOGIN_PATH = "/sso/dingtalk/login"
# Each simulated employee calls from an address of its own on loopback (127.0.1.0/24), as
# employees do from their own phones, so the per-IP limit stays on and is measured too.
SOURCE_ADDRESSES = [f"127.0.1.{i}" for i in range(1, 255)]


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


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Command(BaseCommand):
    help = (
        "Benchmark SSO logins: a fresh SQLite database (or --database-url) with a seeded sandbox, the portal "
        "under gunicorn on loopback and the sandbox under a second gunicorn (the remote systems are other "
        "servers), N logins (sandbox auth code → /sso/dingtalk/login → signed Kingdee link). Prints logins/s "
        "and p50/p99 server-side latency of the login request from the portal's gunicorn access log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--logins", type=int, default=1000)
        parser.add_argument("--concurrency", type=int, default=8, help="simultaneous employees")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
        parser.add_argument("--port", type=int, default=0, help="default: a free port")
        parser.add_argument("--database-url", default="", help="default: a new SQLite file under var/")
        parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["prepare"]:
            return self.prepare(options["port"])
        if not settings.PORTAL_SANDBOX:
            raise CommandError("The benchmark runs against the sandbox: set PORTAL_SANDBOX=true (and DEBUG=true).")
        if options["logins"] < 1 or options["concurrency"] < 1:
            raise CommandError("--logins and --concurrency must be positive.")
        port, sandbox_port = options["port"] or free_port(), free_port()
        with tempfile.TemporaryDirectory(prefix="bench-sso-") as workdir:
            env = self.environment(options["database_url"])
            people = self.run_prepare(env, sandbox_port)
            access_log = Path(workdir) / "access.log"
            servers = []
            try:
                servers.append(self.start_gunicorn(env, sandbox_port, 2, 8, Path(workdir) / "sandbox.log"))
                servers.append(self.start_gunicorn(env, port, options["workers"], options["threads"], access_log))
                result = self.load(port, sandbox_port, people, options)
            finally:
                for server in servers:
                    stop(server)
            server_ms = login_times(access_log)
        self.report(result, server_ms, options)

    # --- set-up ------------------------------------------------------------------------------

    def environment(self, database_url):
        if not database_url:
            path = Path(settings.BASE_DIR) / "var" / "bench-sso.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            database_url = f"sqlite:///{path}"
        env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "PORTAL_SANDBOX": "true",
               "LOG_LEVEL": "WARNING"}
        env["PYTHONPATH"] = str(settings.BASE_DIR)
        return env

    def run_prepare(self, env, port):
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        for step in (["migrate", "-v0"], ["bench_sso", "--prepare", "--port", str(port)]):
            done = subprocess.run([*manage, *step], env=env, capture_output=True, text=True)
            if done.returncode:
                raise CommandError(f"{' '.join(step[:1])} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def prepare(self, port):
        """Inside the benchmark database: seed, connect, configure SSO, map everyone. Prints the people."""
        from integrations.models import Connection
        from sandbox import roster
        from devtools.sso_demo import setup_demo_sso
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
        for p in people:
            IdentityMap.objects.update_or_create(dingtalk=dingtalk, dingtalk_userid=p.userid, defaults={
                "name": p.name, "kingdee_username": p.kingdee_username, "kingdee_staff_number": p.job_number})
        self.stdout.write(json.dumps({"corp_id": app["corp_id"], "userids": [p.userid for p in people]}))

    def start_gunicorn(self, env, port, workers, threads, access_log):
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", str(threads),
                   "--worker-class", "gthread", "--access-logfile", str(access_log),
                   "--access-logformat", "%(U)s %(s)s %(M)s", "--log-level", "warning"]
        server = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200:
                    return server
            except requests.RequestException:
                time.sleep(0.2)
        stop(server)
        raise CommandError("gunicorn did not answer on /healthz within 60 s")

    # --- load --------------------------------------------------------------------------------

    def load(self, port, sandbox_port, people, options):
        base, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
        userids, corp_id = people["userids"], people["corp_id"]
        local = threading.local()
        counter = iter(range(options["logins"]))
        lock = threading.Lock()
        outcomes, client_ms = [], []

        def one(_):
            with lock:
                n = next(counter)
            if not hasattr(local, "sessions"):
                local.sessions = {}
            address = SOURCE_ADDRESSES[n % len(SOURCE_ADDRESSES)]
            session = local.sessions.setdefault(address, session_from(address))
            code = session.get(f"{sandbox}/sandbox/dingtalk/sso/authcode", params={"userid": userids[n % len(userids)]},
                               timeout=30).json()["code"]
            started = time.perf_counter()
            response = session.get(base + LOGIN_PATH, params={"code": code, "corpId": corp_id},
                                   allow_redirects=False, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            location = response.headers.get("Location", "")
            ok = response.status_code == 302 and "/sandbox/kingdee/html5/index.aspx?ud=" in location
            with lock:
                outcomes.append((ok, location))
                client_ms.append(elapsed)

        started = time.perf_counter()
        with ThreadPoolExecutor(options["concurrency"]) as pool:
            list(pool.map(one, range(options["logins"])))
        wall = time.perf_counter() - started
        landed = sum(requests.get(url, timeout=30).status_code == 200 for ok, url in outcomes[:5] if ok)
        return {"wall": wall, "ok": sum(ok for ok, _url in outcomes), "client_ms": client_ms, "landed": landed}

    def report(self, result, server_ms, options):
        if not server_ms:
            raise CommandError("no login requests in gunicorn's access log")
        ok = result["ok"]
        self.stdout.write(
            f"bench_sso logins={options['logins']} ok={ok} concurrency={options['concurrency']} "
            f"workers={options['workers']}x{options['threads']} logins_per_s={ok / result['wall']:.1f} "
            f"server_p50_ms={statistics.median(server_ms):.1f} server_p99_ms={percentile(server_ms, 0.99):.1f} "
            f"client_p50_ms={statistics.median(result['client_ms']):.1f} "
            f"client_p99_ms={percentile(result['client_ms'], 0.99):.1f} landings_verified={result['landed']}"
        )
        if ok != options["logins"]:
            raise CommandError(f"{options['logins'] - ok} logins did not end in a Kingdee link")


def login_times(access_log):
    """Milliseconds of each /sso/dingtalk/login request as gunicorn measured it (%(M)s)."""
    times = []
    for line in access_log.read_text().splitlines():
        path, _status, millis = (line.split() + ["", "", ""])[:3]
        if path == LOGIN_PATH and millis.isdigit():
            times.append(int(millis))
    return times


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(server):
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
