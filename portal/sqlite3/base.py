"""Django's SQLite backend, with a health check for connections kept between requests and tasks.

With `SQLITE_CONN_MAX_AGE` a web or worker process keeps its connection open. SQLite itself sees what other
connections write and migrate in the same file, but not a file replaced underneath it (a restore copied over the
database, `mv new.sqlite3 db.sqlite3`): the kept connection would go on reading, and writing, the old file, which
no longer has a name. Django's health check asks the backend whether a connection is still usable, once per
request or task before its first query (`CONN_HEALTH_CHECKS`, on in the settings); SQLite's answer was always yes.
Here it is yes only while the path still names the file the connection opened (device and inode, one stat).
"""

import os

from django.db.backends.sqlite3 import base


def file_identity(name):
    """(device, inode) of the database file, None for an in-memory database, "missing" if there is no file."""
    name = str(name)
    if name == ":memory:" or "mode=memory" in name or name.startswith("file:"):
        return None
    try:
        found = os.stat(name)
    except FileNotFoundError:
        return "missing"
    return (found.st_dev, found.st_ino)


class DatabaseWrapper(base.DatabaseWrapper):
    _opened_file = None

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self._opened_path = conn_params["database"]
        self._opened_file = file_identity(self._opened_path)
        return connection

    def is_usable(self):
        return self._opened_file is None or file_identity(self._opened_path) == self._opened_file
