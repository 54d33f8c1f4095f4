import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import environ
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

SCRATCH_FLAG = "BENCH_ADMIN_SCRATCH_DATABASE"


class Command(BaseCommand):
    help = (
        "Benchmark the finance review list and the operations dashboard: fills a scratch database (a temporary "
        "SQLite file, or with --database-url a PostgreSQL database it creates and drops; never the portal's own) "
        "with N ledger records over 30 days (2%% failed), then renders both pages as a finance user and prints "
        "`review_list p50=… p95=… queries=…` and `dashboard p50=… p95=… queries=…` (ms). Run it after changing "
        "either page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=10000)
        parser.add_argument("--failed-share", type=float, default=0.02)
        parser.add_argument("--repeat", type=int, default=20, help="renders of each page measured")
        parser.add_argument("--database-url", default="",
                            help="postgres://user@host:port/NAME: NAME is created (it must not exist) and dropped")
        parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["records"] < 100 or options["repeat"] < 1 or not 0 <= options["failed_share"] < 1:
            raise CommandError("--records must be at least 100, --repeat positive, --failed-share in [0, 1).")
        if options["measure"]:
            return self.measure(options)
        if options["database_url"]:
            with scratch_postgres(options["database_url"]) as url:
                self.run_child(url, options)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-admin-") as folder:
                self.run_child(f"sqlite:///{Path(folder) / 'bench-admin.sqlite3'}", options)

    def run_child(self, url, options):
        env = {**os.environ, "DATABASE_URL": url, SCRATCH_FLAG: url, "LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(settings.BASE_DIR)}
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        steps = [["migrate", "-v0"], ["bench_admin", "--measure", "--records", str(options["records"]),
                                      "--failed-share", str(options["failed_share"]), "--repeat",
                                      str(options["repeat"])]]
        for step in steps:
            done = subprocess.run([*manage, *step], env=env, capture_output=True, text=True, cwd=settings.BASE_DIR)
            if done.returncode:
                raise CommandError(f"{step[0]} in the scratch database failed:\n{done.stderr[-3000:]}")
        self.stdout.write(done.stdout.rstrip())

    # ---- inside the scratch database ------------------------------------------------------------

    def measure(self, options):
        from django.db import connection

        if os.environ.get(SCRATCH_FLAG) != os.environ.get("DATABASE_URL") or not os.environ.get(SCRATCH_FLAG):
            raise CommandError("--measure runs only in the scratch database that bench_admin itself creates.")
        from devtools.benchmark import fill, render_times

        user = fill(options["records"], options["failed_share"])
        for page, (times, queries) in render_times(user, options["repeat"]).items():
            self.stdout.write(f"{page} p50={statistics.median(times):.1f} p95={percentile(times, 0.95):.1f} "
                              f"queries={queries}")
        self.stdout.write(f"database={connection.vendor} records={options['records']} "
                          f"failed_share={options['failed_share']} repeat={options['repeat']}")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class scratch_postgres:
    """Creates the database named in the URL (refusing one that exists) and drops it on the way out."""

    def __init__(self, url):
        config = environ.Env.db_url_config(url)
        if "postgresql" not in config["ENGINE"]:
            raise CommandError("--database-url must be a postgres:// URL (SQLite needs none: it uses a temporary "
                               "file).")
        self.url, self.name = url, config["NAME"]
        self.server = {"host": config.get("HOST") or "127.0.0.1", "port": config.get("PORT") or 5432,
                       "user": config.get("USER") or "postgres", "password": config.get("PASSWORD") or None,
                       "dbname": "postgres"}

    def _execute(self, sql):
        import psycopg
        from psycopg import sql as sql_text

        with psycopg.connect(**{k: v for k, v in self.server.items() if v is not None}, autocommit=True) as db:
            db.execute(sql_text.SQL(sql).format(name=sql_text.Identifier(self.name)))

    def __enter__(self):
        import psycopg

        try:
            self._execute("CREATE DATABASE {name}")
        except psycopg.errors.DuplicateDatabase:
            raise CommandError(f"The database {self.name} exists: name a new one, bench_admin creates and drops "
                               "it.") from None
        return self.url

    def __exit__(self, *exc):
        for _attempt in range(5):
            try:
                self._execute("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                return
            except Exception:  # noqa: BLE001 (a last connection closing: try again)
                time.sleep(0.5)
        sys.stderr.write(f"could not drop the scratch database {self.name}\n")

