import io
import time

import openpyxl
from django.core.management.base import BaseCommand, CommandError

from sso.models import IdentityImport, IdentityMap
from sso.tasks import apply_identity_import, check_identity_import

PREFIX = "bench-"


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


class Command(BaseCommand):
    help = (
        "Time the identity-map import (check, then apply, then re-import unchanged) on a generated workbook, "
        "through the same code the worker runs. Writes rows with userids starting 'bench-' and removes them "
        "afterwards. Run it to check the 50,000-rows-in-30-seconds target on a new server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=50000, help="rows in the workbook (default 50000)")
        parser.add_argument("--keep", action="store_true", help="leave the generated mappings in the map")

    def handle(self, *args, rows, keep, **options):
        if rows < 1:
            raise CommandError("--rows must be positive.")
        self.clean_up()
        content = workbook(rows)
        try:
            first = self.timed_import(content)
            again = self.timed_import(content)
        finally:
            if not keep:
                self.clean_up()
        imported = first["job"]
        if imported.status != IdentityImport.Status.DONE or again["job"].unchanged_rows != rows:
            raise CommandError(f"import did not complete: {imported.status} {imported.error}")
        total = first["check"] + first["apply"]
        self.stdout.write(
            f"bench_identity_import rows={rows} file_mb={len(content) / 1e6:.1f} check_s={first['check']:.2f} "
            f"apply_s={first['apply']:.2f} total_s={total:.2f} rows_per_s={rows / total:.0f} "
            f"reimport_total_s={again['check'] + again['apply']:.2f} reimport_unchanged={again['job'].unchanged_rows}"
        )

    def timed_import(self, content):
        job = IdentityImport.objects.create(file_name="bench.xlsx", content=content)
        started = time.perf_counter()
        check_identity_import(job.pk)
        checked = time.perf_counter()
        IdentityImport.objects.filter(pk=job.pk, status=IdentityImport.Status.READY).update(
            status=IdentityImport.Status.QUEUED
        )
        apply_identity_import(job.pk)
        applied = time.perf_counter()
        job.refresh_from_db()
        IdentityImport.objects.filter(pk=job.pk).delete()
        return {"job": job, "check": checked - started, "apply": applied - checked}

    def clean_up(self):
        while IdentityMap.objects.filter(dingtalk_userid__startswith=PREFIX).exists():
            ids = IdentityMap.objects.filter(dingtalk_userid__startswith=PREFIX).values_list("pk", flat=True)[:5000]
            IdentityMap.objects.filter(pk__in=list(ids)).delete()
