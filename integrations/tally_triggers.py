"""Keep the record tally's SQLite triggers alive across migrations.

SQLite cannot alter a column in place: Django rebuilds the ledger table (new table, copy, drop, rename) for an
AlterField or some AddFields, and dropping the old table drops the triggers migration 0008 put on it. The
tally would then stop counting without a sound. After every migrate (and test flush) this puts back any missing
trigger and, when one was missing, counts the tally afresh from the ledger. PostgreSQL keeps its triggers
through ALTER TABLE, so it is left alone."""

import importlib

from django.db import connections

TALLY = "integrations_recordtally"
TRIGGERS = {f"{TALLY}_{event}" for event in ("insert", "delete", "update")}


def restore(using="default", **_signal):
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'integrations_syncrecord'")
        present = {row[0] for row in cursor.fetchall()}
        if TRIGGERS <= present:
            return False
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [TALLY])
        if not cursor.fetchone()[0]:  # migrating backwards past 0008
            return False
        migration = importlib.import_module("integrations.migrations.0008_perf_record_tally")
        for trigger in TRIGGERS & present:
            cursor.execute(f"DROP TRIGGER {trigger}")
        cursor.execute(f"DELETE FROM {TALLY}")
        for statement in migration.sqlite_forward():  # the triggers, then the tally counted from the ledger
            cursor.execute(statement)
    return True
