import argparse
import io
import json
import os
import time

import openpyxl
from django.core.management.base import CommandError

from devtools.bench import BenchCommand, at_least, environment, scratch_database
from devtools.processes import run

PREFIX = "bench-"
SCRATCH_FLAG = "BENCH_IDENTITY_IMPORT_SCRATCH_DATABASE"
ROWS_PER_S = 50000 / 30  # the identity map's promise: 50,000 rows checked and applied within 30 seconds


def workbook(rows):
    """A realistic sheet: text cells for codes and mobiles, Chinese names."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["钉钉用户ID", "姓名", "手机号", "金蝶用户名", "金蝶员工编码", "启用"])
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    for i in range(rows):
        name = f"{surnames[i % len(surnames)]}员工{i:05d}"
        sheet.append([f"{PREFIX}{i:06d}", name, f"139{i:08d}", name, f"{i:06d}", "是" if i % 10 else "否"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def targets(figures):
    return [at_least("rows_per_s", figures["rows_per_s"], round(ROWS_PER_S)),
            at_least("reimport_unchanged_share", figures["reimport_unchanged"] / figures["rows"], 1)]


class Command(BenchCommand):
    help = (
        "Time the identity-map import (check, then apply, then re-import unchanged) of a generated workbook through "
        "the code the worker runs, in a process of its own on a scratch database (a temporary SQLite file, or "
        "--database-url, created and dropped; never the portal's own). Prints seconds, rows/s and the process's "
        "CPU, then the target (50,000 rows in 30 s). Run it on a new server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50000, help="rows in the workbook (default 50000)")
        parser.add_argument("--database-url", default="", help="postgres://…/NAME to create, use and drop")
        parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, rows, **options):
        if rows < 1:
            raise CommandError("--rows must be positive.")
        if options["measure"]:
            return self.measure(rows)
        with scratch_database(options["database_url"], "bench-identity-import") as url:
            env = environment(url, **{SCRATCH_FLAG: url})
            run(env, "migrate", "-v0")
            figures = json.loads(run(env, "bench_identity_import", "--measure", "--rows", str(rows)).splitlines()[-1])
        self.stdout.write("bench_identity_import " + " ".join(f"{key}={value}" for key, value in figures.items()))
        self.verdict(targets(figures), options)

    def measure(self, rows):
        from sso.models import IdentityImport

        if not os.environ.get(SCRATCH_FLAG) or os.environ.get(SCRATCH_FLAG) != os.environ.get("DATABASE_URL"):
            raise CommandError("--measure runs only in the scratch database bench_identity_import creates.")
        content = workbook(rows)
        first, again = self.timed_import(content), self.timed_import(content)
        if first["job"].status != IdentityImport.Status.DONE or again["job"].status != IdentityImport.Status.DONE:
            raise CommandError(f"import did not complete: {first['job'].status} {first['job'].error}")
        total = first["check"] + first["apply"]
        self.stdout.write(json.dumps({
            "rows": rows, "file_mb": round(len(content) / 1e6, 1), "check_s": round(first["check"], 2),
            "apply_s": round(first["apply"], 2), "total_s": round(total, 2), "rows_per_s": round(rows / total),
            "cpu_s": round(first["cpu"], 2), "reimport_total_s": round(again["check"] + again["apply"], 2),
            "reimport_unchanged": again["job"].unchanged_rows}))

    def timed_import(self, content):
        from sso.models import IdentityImport
        from sso.tasks import apply_identity_import, check_identity_import

        job = IdentityImport.objects.create(file_name="bench.xlsx", content=content)
        started, cpu = time.perf_counter(), time.process_time()
        check_identity_import(job.pk)
        checked = time.perf_counter()
        IdentityImport.objects.filter(pk=job.pk, status=IdentityImport.Status.READY).update(
            status=IdentityImport.Status.QUEUED)
        apply_identity_import(job.pk)
        applied = time.perf_counter()
        job.refresh_from_db()
        return {"job": job, "check": checked - started, "apply": applied - checked,
                "cpu": time.process_time() - cpu}
