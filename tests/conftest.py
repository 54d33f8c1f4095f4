import ipaddress
import os
import socket

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_addoption(parser):
    parser.addoption("--share", default="", metavar="K/N",
                     help="run only the K-th of N shares of the test files (files dealt in turn, in path order); "
                          "the N shares together are the whole suite. CI runs the PostgreSQL suite as two shares "
                          "side by side.")


def pytest_collection_modifyitems(config, items):
    """With --share K/N, the test files dealt to share K (every file whole, so that module fixtures are set up
    once); the others are deselected. Every share collects the same files, so the shares never overlap and
    together leave nothing out."""
    share = config.getoption("--share")
    if not share:
        return
    try:
        number, count = (int(part) for part in share.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--share takes K/N, not {share!r}") from None
    if not 1 <= number <= count:
        raise pytest.UsageError(f"--share {share}: K must be between 1 and N")
    files = {path: position for position, path in enumerate(sorted({item.path for item in items}))}
    kept = [item for item in items if files[item.path] % count == number - 1]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if files[item.path] % count != number - 1])
        items[:] = kept


def pytest_configure(config):
    from django.conf import settings

    # Live-server threads must not keep PostgreSQL connections open past a test: the test
    # database could not be dropped at the end.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Passwords of test users and of the seeded sandbox users are hashed with a fast hasher: a million PBKDF2
    # rounds per user cost seconds per test on a busy machine and test nothing of ours.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # PostgreSQL waits for each commit's WAL to reach the disk; SQLite in WAL mode with synchronous=NORMAL (the
    # settings' choice) does not. Without the wait a commit is as visible and as ordered as with it: only a crash
    # of the database server could lose the last commits, which no test does. Set through libpq's environment,
    # so that the test database's creation, the live-server threads and the worker processes the tests start
    # (which inherit the environment) all commit this way.
    os.environ.setdefault("PGOPTIONS", "-c synchronous_commit=off")
    remove_sqlite_leftovers(settings)
    lighter_flush()


KEPT_TABLES = {"django_content_type", "auth_permission"}


def lighter_flush():
    """Between transactional tests Django empties every table. On PostgreSQL it does so with one TRUNCATE, which costs
    0.5–3 s of file work whatever the rows (and about 400 tests end that way), while a DELETE of the few rows a test
    wrote costs milliseconds: foreign keys are deferred to the flush's commit, so the order does not matter, except
    for the ledger's tally triggers (a ledger DELETE writes the tally), so every table is emptied twice (on SQLite
    too, which deletes already). On both
    databases content types and permissions, which never change during the session, are kept, so that the
    post_migrate that follows each flush only reads them instead of writing some 400 rows again. A flush that
    resets sequences is left as Django makes it."""
    from django.db import connection

    operations = type(connection.ops)
    flush = operations.sql_flush
    if connection.vendor == "postgresql":
        def flush(self, style, tables, *, allow_cascade=False):
            return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
                    for table in tables]

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return django_flush(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        statements = flush(self, style, [table for table in tables if table not in KEPT_TABLES],
                           allow_cascade=allow_cascade)
        return statements + statements  # the second pass: what the ledger's tally triggers wrote in the first

    django_flush = operations.sql_flush
    operations.sql_flush = sql_flush


def pytest_unconfigure(config):
    from django.conf import settings

    remove_sqlite_leftovers(settings)


def remove_sqlite_leftovers(settings):
    """The SQLite test database's write-ahead log and shared-memory index, left beside it when a session ended
    with connections still open (a worker process, a pooled rate-budget connection). Django removes the
    database file but not these: the next session's new database would replay the old log into itself
    ("database disk image is malformed", or rows of the last session)."""
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3"):
        return
    name = (database.get("TEST") or {}).get("NAME")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in ("-wal", "-shm", "-journal"):
        try:
            os.remove(name + suffix)
        except FileNotFoundError:
            pass

_real_connect = socket.socket.connect


def _loopback_only(sock, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not _is_local(host):
        raise ConnectionRefusedError(f"Tests never touch the network: refused connection to {address!r}")
    return _real_connect(sock, address)


def _is_local(host):
    if host in ("localhost", "testserver"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Only loopback (live servers, PostgreSQL, Redis) is reachable from a test."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


def member(role, username):
    """A staff user in one of the portal's roles (portal.roles)."""
    from django.contrib.auth.models import Group, User

    from portal.roles import sync_roles

    sync_roles()
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def finance_user(db):
    from portal.roles import FINANCE

    return member(FINANCE, "cashier")


@pytest.fixture
def it_user(db):
    from portal.roles import IT_ADMIN

    return member(IT_ADMIN, "it-admin")


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def it_client(client, it_user):
    client.force_login(it_user)
    return client


DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences",
                     "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def empty_cache(request):
    """Every test with database access starts with an empty shared cache. The cache is a table (SQLite run) or
    Redis (PostgreSQL run) that no rollback or flush empties: without this, a test would find the app tokens,
    fetch locks, memoised approvals and rate windows of the tests before it, and worker processes of an
    end-to-end test would wait on or use them."""
    if request.node.get_closest_marker("django_db") is None and not DATABASE_FIXTURES & set(request.fixturenames):
        return
    request.getfixturevalue("_django_db_helper")  # the test's database (or its transaction) first
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fresh_sso_settings():
    """SSO settings are kept per process between logins; a test starts from the database, not the last test."""
    from sso.login import forget_settings

    forget_settings()


@pytest.fixture
def q_sync(monkeypatch):
    """Run django-q2 tasks inline; the pytest `settings` fixture does not reach Conf."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def instant_retries(settings):
    """Client retries keep their logic but do not sleep; a lost write's answer is not waited for (tests that
    exercise the outcome horizon set it themselves)."""
    settings.REMOTE_RETRY_WAIT_SCALE = 0
    settings.SYNC_OUTCOME_HORIZON_SECONDS = 0


@pytest.fixture(autouse=True)
def empty_redis_queue():
    """A database rollback empties the ORM broker between tests; the Redis broker needs emptying by hand."""
    from django.conf import settings

    if settings.Q_CLUSTER.get("redis"):
        from django_q.brokers import get_broker

        get_broker().purge_queue()



@pytest.fixture(autouse=True)
def process_local_rate_budgets(settings):
    """A test's transaction holds SQLite's write lock, and tests re-seed instances under the same ids: rate
    budgets stay in the test process and finished instances are not remembered between reads (tests/rate
    turn both on)."""
    from integrations.clients import limiter

    settings.RATE_LIMIT_STORE = "local"
    settings.DINGTALK_DETAIL_MEMO_SECONDS = 0
    limiter._local.__init__()


@pytest.fixture(autouse=True, scope="session")
def remembered_sandbox_seed():
    """Seeds into an empty sandbox are bulk-inserted from the first one (tests/seed_memo.py)."""
    from sandbox.management.commands.sandbox_seed import Command

    from tests.seed_memo import remembering

    handle = Command.handle
    Command.handle = remembering(handle)
    yield
    Command.handle = handle
