"""`bench_admin` on a scratch SQLite file: one line per page, and the portal's own database untouched."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.models import SyncRecord


def test_it_prints_p50_p95_and_queries_of_both_pages_from_a_scratch_database(db, capsys):
    call_command("bench_admin", "--records", "400", "--repeat", "2")
    out = capsys.readouterr().out
    for page in ("review_list", "dashboard"):
        assert re.search(rf"^{page} p50=[\d.]+ p95=[\d.]+ queries=\d+$", out, re.MULTILINE), out
    assert "records=400" in out and not SyncRecord.objects.exists()


def test_measuring_outside_its_scratch_database_is_refused(db):
    with pytest.raises(CommandError, match="scratch database"):
        call_command("bench_admin", "--measure", "--records", "400")
