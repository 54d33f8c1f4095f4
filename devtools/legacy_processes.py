"""Process helpers of the benchmarks that start their own servers by hand (bench_org, bench_lookup, bench_faults).

They were written against bench_events' helpers before `devtools.processes` existed; moving them onto
`devtools.processes` (Process, gunicorn, run) is the next step, and this module goes with it.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import CommandError

from devtools.processes import free_port

__all__ = ["answers", "environment", "free_port", "manage", "percentile", "stop", "wait_until"]


def environment(database_url):
    if not database_url:
        path = Path(settings.BASE_DIR) / "var" / "bench-events.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    return {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "PORTAL_SANDBOX": "true",
            "LOG_LEVEL": "WARNING", "PYTHONPATH": str(settings.BASE_DIR), "PYTHONUNBUFFERED": "1"}


def manage(env, *args):
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        raise CommandError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise CommandError(f"timed out waiting for {what}")


def answers(url):
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def percentile(ordered, fraction):
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def stop(process):
    """SIGTERM to the server or cluster, which stops its own children; SIGKILL what is left after 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
