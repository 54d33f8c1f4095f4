"""The SSO benchmark still runs end to end (a few logins; the figures in the note come from a full run)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_bench_sso_logs_in_through_gunicorn_and_prints_one_line_of_figures():
    out = StringIO()
    call_command("bench_sso", "--logins", "30", "--concurrency", "3", stdout=out)
    line = out.getvalue().strip().splitlines()[-1]
    figures = dict(part.split("=") for part in line.split()[1:])
    assert line.startswith("bench_sso ") and figures["ok"] == "30" and figures["landings_verified"] == "5"
    assert float(figures["logins_per_s"]) > 0 and float(figures["server_p99_ms"]) >= float(figures["server_p50_ms"])
