"""The dashboard's tally of ledger records, kept by database triggers (see RecordTally), and filled from the
ledger as it is.

PostgreSQL: statement-level triggers with transition tables, so a bulk insert or a conditional UPDATE of many
records appends one grouped row per bucket that changed. SQLite: row-level triggers that fire only when a
record's bucket changes (status, booking path, scheme or hour of `updated_at`)."""

from django.db import migrations, models

LEDGER, TALLY = "integrations_syncrecord", "integrations_recordtally"
COLUMNS = "scheme_id, hour, status, booked_via, n"

PG_HOUR = "floor(extract(epoch FROM updated_at) / 3600)::integer"
PG_CHANGES = {
    "insert": f"SELECT scheme_id, {PG_HOUR} AS hour, status, booked_via, 1 AS n FROM new_rows",
    "delete": f"SELECT scheme_id, {PG_HOUR} AS hour, status, booked_via, -1 AS n FROM old_rows",
    "update": f"SELECT scheme_id, {PG_HOUR} AS hour, status, booked_via, -1 AS n FROM old_rows UNION ALL "
              f"SELECT scheme_id, {PG_HOUR} AS hour, status, booked_via, 1 AS n FROM new_rows",
}
PG_REFERENCING = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
                  "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}


def postgresql_forward():
    for event, changes in PG_CHANGES.items():
        yield f"""
            CREATE FUNCTION {TALLY}_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {TALLY} ({COLUMNS})
                SELECT scheme_id, hour, status, booked_via, sum(n) FROM ({changes}) AS changes
                GROUP BY scheme_id, hour, status, booked_via HAVING sum(n) <> 0;
                RETURN NULL;
            END $$"""
        yield (f"CREATE TRIGGER {TALLY}_{event} AFTER {event.upper()} ON {LEDGER} REFERENCING "
               f"{PG_REFERENCING[event]} FOR EACH STATEMENT EXECUTE FUNCTION {TALLY}_{event}()")
    yield (f"INSERT INTO {TALLY} ({COLUMNS}) SELECT scheme_id, {PG_HOUR}, status, booked_via, count(*) FROM {LEDGER} "
           "GROUP BY 1, 2, 3, 4")


def postgresql_backward():
    for event in PG_CHANGES:
        yield f"DROP TRIGGER IF EXISTS {TALLY}_{event} ON {LEDGER}"
        yield f"DROP FUNCTION IF EXISTS {TALLY}_{event}()"


def sqlite_hour(row):
    return f"CAST(strftime('%s', {row}.updated_at) AS INTEGER) / 3600"


def sqlite_row(row, n):
    return (f"INSERT INTO {TALLY} ({COLUMNS}) VALUES ({row}.scheme_id, {sqlite_hour(row)}, {row}.status, "
            f"{row}.booked_via, {n});")


def sqlite_forward():
    yield f"CREATE TRIGGER {TALLY}_insert AFTER INSERT ON {LEDGER} BEGIN {sqlite_row('NEW', 1)} END"
    yield f"CREATE TRIGGER {TALLY}_delete AFTER DELETE ON {LEDGER} BEGIN {sqlite_row('OLD', -1)} END"
    yield (f"CREATE TRIGGER {TALLY}_update AFTER UPDATE OF scheme_id, status, booked_via, updated_at ON {LEDGER} "
           "WHEN OLD.status IS NOT NEW.status OR OLD.booked_via IS NOT NEW.booked_via "
           f"OR OLD.scheme_id IS NOT NEW.scheme_id OR {sqlite_hour('OLD')} IS NOT {sqlite_hour('NEW')} "
           f"BEGIN {sqlite_row('OLD', -1)} {sqlite_row('NEW', 1)} END")
    yield (f"INSERT INTO {TALLY} ({COLUMNS}) SELECT scheme_id, {sqlite_hour(LEDGER)}, status, booked_via, count(*) "
           f"FROM {LEDGER} GROUP BY 1, 2, 3, 4")


def sqlite_backward():
    for event in ("insert", "delete", "update"):
        yield f"DROP TRIGGER IF EXISTS {TALLY}_{event}"


STATEMENTS = {"postgresql": (postgresql_forward, postgresql_backward), "sqlite": (sqlite_forward, sqlite_backward)}


def run(direction):
    def operation(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in STATEMENTS:
            raise NotImplementedError(f"The record tally's triggers exist for SQLite and PostgreSQL, not {vendor}.")
        for statement in STATEMENTS[vendor][direction]():
            schema_editor.execute(statement, params=None)

    return operation


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0007_engine_sweep_schedule"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scheme_id", models.IntegerField()),
                ("hour", models.IntegerField(help_text="Hours since 1970-01-01 00:00 UTC.", verbose_name="hour")),
                ("status", models.CharField(max_length=10)),
                ("booked_via", models.CharField(blank=True, default="", max_length=10)),
                ("n", models.IntegerField()),
            ],
            options={
                "verbose_name": "record tally",
                "indexes": [models.Index(fields=["hour"], name="tally_hour")],
            },
        ),
        migrations.RunPython(run(0), run(1)),
    ]
