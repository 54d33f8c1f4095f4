"""demo_setup wires the event path; dingtalk_stream checks its connections; bench_events prints its line."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from integrations.models import Connection, Scheme
from sandbox.dingtalk.models import App


def test_demo_setup_sends_the_sandbox_events_to_the_connections_callback_url_and_schemes_book_on_them(db):
    call_command("demo_setup", base_url="http://127.0.0.1:8000", stdout=open(os.devnull, "w"))

    dingtalk = Connection.objects.get(kind=Connection.Kind.DINGTALK)
    app = App.objects.get(app_key=dingtalk.app_key)
    assert (app.push_mode, app.callback_url) == ("http", f"http://127.0.0.1:8000/dingtalk/callback/{dingtalk.pk}/")
    schemes = Scheme.objects.filter(source_connection=dingtalk)
    assert all(scheme.event_trigger and scheme.enabled for scheme in schemes)
    intervals = {scheme.source_kind: scheme.interval_minutes for scheme in schemes}  # the net
    assert intervals == {"dingtalk.approval": 30, "dingtalk.contacts": 10} and len(schemes) == 3

    call_command("demo_setup", base_url="http://127.0.0.1:8000", events="stream", stdout=open(os.devnull, "w"))
    assert App.objects.get(pk=app.pk).push_mode == "stream"


def test_dingtalk_stream_refuses_a_connection_it_cannot_use(dingtalk, kingdee):
    with pytest.raises(CommandError, match=str(kingdee.pk)):
        call_command("dingtalk_stream", connection=[kingdee.pk])
    dingtalk.enabled = False
    dingtalk.save()
    with pytest.raises(CommandError, match="No enabled DingTalk connection"):
        call_command("dingtalk_stream")


def test_bench_events_approves_claims_at_a_rate_and_prints_the_latencies():
    path = Path(settings.BASE_DIR) / "var" / f"bench-events-test-{os.getpid()}.sqlite3"
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "bench_events", "--claims", "4", "--rate", "4", "--database-url",
             f"sqlite:///{path}"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    assert result.returncode == 0, result.stderr[-3000:]
    line = result.stdout.strip().splitlines()[-1]
    match = re.match(r"p50_s=([\d.]+) p95_s=([\d.]+) max_s=([\d.]+) booked=(\d+) of=(\d+) by_event=(\d+)", line)
    assert match, line
    assert match.group(4) == match.group(5) == match.group(6) == "4"
    assert float(match.group(2)) <= 2.0
