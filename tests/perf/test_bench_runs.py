"""Every benchmark still runs end to end at a tiny size and prints its line (the figures in the note come from
full runs by hand; nothing here is timed), in scratch databases that are never the portal's own."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from devtools.bench import ScratchPostgres
from integrations.models import SyncRecord
from sso.models import IdentityMap

pytestmark = pytest.mark.django_db(transaction=True)


def bench(*args):
    out = StringIO()
    call_command(*args, "--no-targets", stdout=out)
    return out.getvalue()


def figures(line):
    return dict(part.split("=", 1) for part in line.split() if "=" in part)


def measured(out):
    """The figures line (the last one but the machine's load, which every benchmark prints after it)."""
    *lines, load = out.strip().splitlines()
    assert load.startswith("load_average="), out
    return lines[-1]


def test_bench_admin_prints_both_pages_from_a_scratch_database():
    out = bench("bench_admin", "--records", "200", "--repeat", "1")
    for page in ("review_list", "dashboard"):
        assert re.search(rf"^{page} p50=[\d.]+ p95=[\d.]+ cpu_ms=[\d.]+ queries=\d+$", out, re.MULTILINE), out
    assert "records=200" in out and "target" not in out and not SyncRecord.objects.exists()
    assert out.strip().splitlines()[-1].startswith("load_average=")


def test_bench_identity_import_prints_its_line_and_leaves_the_identity_map_alone():
    line = measured(bench("bench_identity_import", "--rows", "50"))
    assert line.startswith("bench_identity_import ") and figures(line)["reimport_unchanged"] == "50"
    assert not IdentityMap.objects.exists()


def test_bench_sso_logs_in_through_gunicorn_and_reports_the_portal_cpu():
    line = measured(bench("bench_sso", "--logins", "20", "--rate", "20"))
    result = figures(line)
    assert result["ok"] == "20" and result["landings_verified"] == "5" and float(result["cpu_ms_per_login"]) > 0


def test_bench_dingtalk_client_bursts_against_a_sandbox_of_its_own():
    result = figures(measured(bench("bench_dingtalk_client", "--seconds", "1", "--threads", "2")))
    assert int(result["calls"]) > 0 and result["throttled"] == "0"


def test_bench_sync_prints_one_line_per_setting_and_the_naive_ratio():
    lines = bench("bench_sync", "--records", "20", "--batch-size", "10").strip().splitlines()[:-1]
    results = {figures(line)["setting"]: figures(line) for line in lines if line.startswith("setting=")}
    assert list(results) == ["a", "b", "c", "c-naive"] and lines[-1].startswith("naive_ratio=")
    for name, result in results.items():
        assert result["records"] == "20" and result["bills"] == "20" and result["duplicates"] == "0", name
        assert float(result["cpu_ms_per_claim"]) > 0 and float(result["peak_rss_mb"]) > 0


def test_bench_events_books_pushed_approvals_and_reports_the_portal_cpu():
    result = figures(measured(bench("bench_events", "--claims", "4", "--rate", "4")))
    assert result["booked"] == result["of"] == "4" and float(result["cpu_ms_per_claim"]) > 0  # besides the one that warms up


def test_a_benchmark_never_creates_or_drops_the_portal_s_own_database(settings):
    settings.DATABASES = {"default": {**settings.DATABASES["default"], "NAME": "portal"}}
    with pytest.raises(CommandError, match="portal's own database"):
        ScratchPostgres("postgres://postgres@127.0.0.1:5432/portal")


def test_measuring_outside_a_scratch_database_is_refused():
    with pytest.raises(CommandError, match="scratch database"):
        call_command("bench_admin", "--measure", "--records", "400")
    with pytest.raises(CommandError, match="scratch database"):
        call_command("bench_identity_import", "--measure", "--rows", "10")
