"""`manage.py` commands in processes of their own (a worker, the Stream gateway, the Stream client), against
the test database: devtools.processes.Process, which the benchmarks use too, with the tests' settings."""

import os

from django.db import connection

from devtools.processes import Process, manage_command


def database_url():
    """The test database as a URL the worker processes understand."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class ManageProcess(Process):
    def __init__(self, *args, name="manage", **env):
        self.env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1",
                    "DJANGO_SETTINGS_MODULE": "tests.integrations.worker_settings", **env}
        super().__init__(manage_command(*args), env=self.env, name=name)


def cluster(workers=2, lease=6):
    """`manage.py qcluster` with `workers` worker processes and a short run lease."""
    return ManageProcess("qcluster", name="qcluster", Q_WORKERS=str(workers), SYNC_LEASE_SECONDS=str(lease))
