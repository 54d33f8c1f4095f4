"""What every `bench_*` command shares: a scratch database that is never the portal's own, the environment of
the processes it starts, percentiles, and the issue's targets printed with PASS/FAIL."""

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import environ
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else None


@dataclass(frozen=True)
class Target:
    """One target of issue 17: `value` must be at most (or at least) `limit`. No value is a FAIL."""

    name: str
    value: float | None
    limit: float
    at_least: bool = False

    @property
    def passed(self):
        if self.value is None:
            return False
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def line(self):
        shown = "-" if self.value is None else f"{self.value:g}"
        return f"target {self.name}={shown} {'>=' if self.at_least else '<='} {self.limit:g} " + (
            "PASS" if self.passed else "FAIL")


def load_line():
    """The load average when the figures were taken: they mean little on a machine busy with other work."""
    one, five, fifteen = os.getloadavg()
    return f"load_average={one:.2f},{five:.2f},{fifteen:.2f} cpus={os.cpu_count()}"


def at_most(name, value, limit):
    return Target(name, value, limit)


def at_least(name, value, limit):
    return Target(name, value, limit, at_least=True)


class BenchCommand(BaseCommand):
    """A benchmark: measures, then (unless --no-targets) prints its targets and exits non-zero on a FAIL."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--no-targets", action="store_true", help="only measure: print no verdict")
        return parser

    def verdict(self, targets, options):
        """Prints the machine's load, then (unless only measuring) each target's line; raises CommandError (exit
        status 1) if any failed."""
        self.stdout.write(load_line())
        if options.get("no_targets"):
            return
        for target in targets:
            self.stdout.write(target.line())
        failed = [target.name for target in targets if not target.passed]
        if failed:
            raise CommandError(f"{len(failed)} of {len(targets)} targets failed: {', '.join(failed)}")


def portal_database_names():
    return {str(db.get("NAME")) for db in settings.DATABASES.values()}


@contextmanager
def scratch_database(url, name):
    """A database for one benchmark: a new SQLite file in a temporary folder, or the PostgreSQL database named
    in `url`, created here (refusing one that exists or is the portal's own) and dropped on the way out."""
    if not url:
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as folder:
            yield f"sqlite:///{Path(folder) / f'{name}.sqlite3'}"
        return
    with ScratchPostgres(url) as scratch:
        yield scratch


class ScratchPostgres:
    def __init__(self, url):
        config = environ.Env.db_url_config(url)
        if "postgresql" not in config["ENGINE"]:
            raise CommandError("--database-url must be a postgres:// URL (SQLite needs none: a temporary file is "
                               "used).")
        self.url, self.name = url, config["NAME"]
        if self.name in portal_database_names():
            raise CommandError(f"{self.name} is the portal's own database: name a new one, the benchmark creates "
                               "and drops it.")
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
            raise CommandError(f"The database {self.name} exists: name a new one, the benchmark creates and drops "
                               "it.") from None
        return self.url

    def __exit__(self, *exc):
        connections.close_all()
        for _attempt in range(5):
            try:
                self._execute("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                return
            except Exception:  # noqa: BLE001 (a last connection closing: try again)
                time.sleep(0.5)
        sys.stderr.write(f"could not drop the scratch database {self.name}\n")


def environment(database_url, **extra):
    """The environment of a benchmark's processes: its scratch database, the sandbox on, and settings without
    debugging (devtools.bench_settings)."""
    return {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "PORTAL_SANDBOX": "true",
            "DJANGO_SETTINGS_MODULE": "devtools.bench_settings", "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(settings.BASE_DIR), "PYTHONUNBUFFERED": "1", **extra}


def require_sandbox():
    if not settings.PORTAL_SANDBOX:
        raise CommandError("The benchmark runs against the sandbox: set PORTAL_SANDBOX=true.")
