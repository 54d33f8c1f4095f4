"""`manage.py` commands in processes of their own (a worker, the Stream gateway, the Stream client), against
the test database, each in its own process group and ended by its own id."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings

from tests.integrations.live import database_url


class ManageProcess:
    def __init__(self, *args, name="manage", **env):
        self.env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1",
                    "DJANGO_SETTINGS_MODULE": "tests.integrations.worker_settings", **env}
        self.log_path = settings.BASE_DIR / "var" / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), *args], env=self.env,
                                        cwd=settings.BASE_DIR, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def kill(self):
        """SIGKILL, as a crashed machine: no cleanup runs in any of its processes."""
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self, timeout=30):
        """SIGTERM to the command (qcluster stops its own children; signalling them too makes it wait for
        them forever) and wait; SIGKILL whatever is left of its process group. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self._signal(signal.SIGKILL)  # any orphan of the group
        self.log.close()
        return self.process.returncode

    def _signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def output(self):
        return self.log_path.read_text(errors="replace")


def cluster(workers=2, lease=6):
    return ManageProcess("qcluster", name="qcluster", Q_WORKERS=str(workers), SYNC_LEASE_SECONDS=str(lease))
