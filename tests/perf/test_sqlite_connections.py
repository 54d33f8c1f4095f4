"""SQLite connections kept between requests and tasks (SQLITE_CONN_MAX_AGE): each test drives a connection of the
portal's own backend and settings through the request (or django-q2 task) cycle, on a database file of its own."""

import multiprocessing
import os
import sqlite3
import threading
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db.utils import ConnectionHandler

KEPT_SECONDS = 60


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """These tests open SQLite databases of their own with the portal's SQLite settings (never the test database)."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("the portal's SQLite settings: run with SQLite")
    with django_db_blocker.unblock():
        yield


@contextmanager
def write_transaction(connection):
    """A transaction as `transaction.atomic` opens one on this connection: `BEGIN IMMEDIATE` (the portal's
    transaction_mode), then COMMIT, or ROLLBACK on an error."""
    connection.ensure_connection()
    connection._start_transaction_under_autocommit()
    try:
        yield
    except BaseException:
        connection.connection.rollback()
        raise
    connection.connection.commit()


def handler(path, max_age=KEPT_SECONDS):
    """Connections as the portal makes them (its engine, PRAGMAs, IMMEDIATE transactions) to `path`."""
    config = {**settings.DATABASES["default"], "NAME": str(path), "CONN_MAX_AGE": max_age, "TEST": {}}
    return ConnectionHandler({"default": config})


def next_request(connection):
    """What Django does when a request starts or ends and django-q2 before and after each task."""
    connection.close_if_unusable_or_obsolete()


def query(connection, sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def raw_database(path, value):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE note (value TEXT)")
        db.execute("INSERT INTO note VALUES (?)", [value])
    db.close()


def test_the_portal_uses_its_own_sqlite_backend_with_health_checks():
    database = settings.DATABASES["default"]
    assert database["ENGINE"] == "portal.sqlite3" and database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_a_kept_connection_is_reused_from_request_to_request(tmp_path):
    raw_database(tmp_path / "db.sqlite3", "first")
    connection = handler(tmp_path / "db.sqlite3")["default"]
    query(connection, "SELECT 1")
    opened = connection.connection
    for _request in range(3):
        next_request(connection)
        assert query(connection, "SELECT value FROM note") == [("first",)]
    assert connection.connection is opened
    connection.close()


def test_a_kept_connection_reads_and_writes_the_new_file_once_the_database_was_replaced(tmp_path):
    path = tmp_path / "db.sqlite3"
    raw_database(path, "old")
    connection = handler(path)["default"]
    assert query(connection, "SELECT value FROM note") == [("old",)]

    raw_database(tmp_path / "restored.sqlite3", "restored")  # a restore copied over the file, servers running
    for leftover in ("-wal", "-shm"):
        (tmp_path / f"db.sqlite3{leftover}").unlink(missing_ok=True)
    os.replace(tmp_path / "restored.sqlite3", path)

    next_request(connection)
    assert query(connection, "SELECT value FROM note") == [("restored",)]
    with write_transaction(connection):
        query(connection, "INSERT INTO note VALUES ('written after')")
    connection.close()
    with sqlite3.connect(path) as db:  # the write is in the file that has the name, not in the lost one
        assert [row[0] for row in db.execute("SELECT value FROM note ORDER BY rowid")] == ["restored", "written after"]
    db.close()


def test_a_kept_connection_sees_a_migration_made_by_another_process(tmp_path):
    path = tmp_path / "db.sqlite3"
    raw_database(path, "before")
    connection = handler(path)["default"]
    assert query(connection, "SELECT * FROM note") == [("before",)]
    with sqlite3.connect(path) as other:  # `manage.py migrate` in another process
        other.execute("ALTER TABLE note ADD COLUMN kind TEXT NOT NULL DEFAULT 'old'")
        other.execute("CREATE TABLE added (id INTEGER PRIMARY KEY)")
    other.close()
    next_request(connection)
    assert query(connection, "SELECT value, kind FROM note") == [("before", "old")]
    assert query(connection, "SELECT COUNT(*) FROM added") == [(0,)]
    connection.close()


def write_in_another_process(path, rows, started):
    """A worker process writing with the portal's settings (its own connection, kept across its tasks)."""
    connection = handler(path)["default"]
    started.wait()
    for n in range(rows):
        next_request(connection)
        with write_transaction(connection):
            count = query(connection, "SELECT COUNT(*) FROM tally")[0][0]  # a read, then a write: IMMEDIATE
            query(connection, "INSERT INTO tally (who, seen) VALUES (%s, %s)", ["worker", count])
    connection.close()


def test_kept_connections_of_web_threads_and_a_worker_process_write_together_without_database_locked(tmp_path):
    """Read-then-write transactions from four threads and another process at once, every connection kept: with
    WAL and IMMEDIATE transactions each waits for the write lock instead of failing ("database is locked")."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tally (id INTEGER PRIMARY KEY, who TEXT, seen INTEGER)")
    db.close()
    rows, threads_count = 40, 4
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    worker = context.Process(target=write_in_another_process, args=(path, rows, started))
    worker.start()
    connections, errors = handler(path), []

    def web_thread(name):
        connection = connections["default"]  # one per thread, as under gunicorn's threads
        try:
            for _n in range(rows):
                next_request(connection)
                with write_transaction(connection):
                    count = query(connection, "SELECT COUNT(*) FROM tally")[0][0]
                    query(connection, "INSERT INTO tally (who, seen) VALUES (%s, %s)", [name, count])
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=web_thread, args=(f"web{n}",)) for n in range(threads_count)]
    started.set()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    worker.join(timeout=300)
    assert errors == [] and worker.exitcode == 0
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM tally").fetchone()[0] == rows * (threads_count + 1)
        # Each transaction saw every row committed before it: no two read the same count.
        assert db.execute("SELECT COUNT(DISTINCT seen) FROM tally").fetchone()[0] == rows * (threads_count + 1)
    db.close()


# --- django-q2's worker, on the test database ---------------------------------------------------------------------

SEEN = []


def note_connection():
    """A task: which SQLite connection it ran on, after a query."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_q_ormq")
    SEEN.append(connection.connection)  # the object itself: kept alive, never confused with a later one


def leave_a_transaction_open():
    """A task that forgets to end its transaction: the next task must not run inside it."""
    from django.db import connection

    connection.set_autocommit(False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    SEEN.append(connection.connection)  # the object itself: kept alive, never confused with a later one


@pytest.mark.django_db(transaction=True)
def test_django_q2_workers_keep_their_connection_between_tasks_and_drop_one_a_task_left_in_a_transaction():
    """django-q2's own worker loop (in this process): before each task it closes what is obsolete or unusable,
    so tasks share one kept connection, and a task that left a transaction open leaves it to itself."""
    import multiprocessing as mp

    from django.db import connection
    from django_q.worker import worker

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    connection.close()
    kept = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = KEPT_SECONDS
    SEEN.clear()
    try:
        tasks, results = mp.Queue(), mp.Queue()
        for n, func in enumerate([note_connection, note_connection, leave_a_transaction_open, note_connection]):
            tasks.put({"id": str(n), "name": f"task{n}", "func": func, "args": (), "kwargs": {}})
        tasks.put("STOP")
        worker(tasks, results, mp.Value("f", -1))
        outcomes = [results.get(timeout=30) for _n in range(4)]
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = kept
        connection.close()
    assert all(outcome["success"] for outcome in outcomes)
    first, second, forgetful, after = SEEN
    assert first is second is forgetful  # kept from task to task
    assert after is not forgetful  # the open transaction went with its connection
