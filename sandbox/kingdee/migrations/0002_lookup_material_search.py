"""A substring index over materials' numbers, names and specifications, so that a material search
(`FNumber like '%x%' or FName like '%x%' or FSpecification like '%x%'`) stops reading every material.

SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+), kept by triggers on the form records, so
every writer (Save, the seed, bulk fills, the stock door) keeps it current without knowing of it.
PostgreSQL: a pg_trgm GIN index on the same text. Where neither is available the migration does nothing and
the query reads the materials as before (`sandbox.kingdee.search.material_index` finds out which).
"""

from django.db import migrations, transaction
from django.db.utils import DatabaseError

TABLE = "sandbox_kingdee_formrecord"
FTS = "sandbox_kingdee_material_text"
TRGM = "sandbox_kingdee_material_trgm"
# Text leaves under any FSpecification key in any case (top level or a sub-header; a plain text or [{Key, Value}]).
SPECIFICATION = (
    "coalesce((SELECT group_concat(value, ' ') FROM json_tree({row}.model) "
    "WHERE type = 'text' AND fullkey LIKE '$%.FSpecification%'), '')"
)
SQLITE_TEXT = "coalesce({row}.number, '') || char(10) || coalesce({row}.name, '') || char(10) || " + SPECIFICATION
SQLITE_FORWARD = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(text, tokenize = 'trigram case_sensitive 0')",
    f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON {TABLE} WHEN new.form_id = 'BD_MATERIAL' BEGIN
        INSERT INTO {FTS}(rowid, text) VALUES (new.id, {SQLITE_TEXT.format(row="new")}); END""",
    f"""CREATE TRIGGER {FTS}_update AFTER UPDATE OF form_id, number, name, model ON {TABLE}
        WHEN old.form_id = 'BD_MATERIAL' OR new.form_id = 'BD_MATERIAL' BEGIN
        DELETE FROM {FTS} WHERE rowid = old.id;
        INSERT INTO {FTS}(rowid, text) SELECT new.id, {SQLITE_TEXT.format(row="new")}
            WHERE new.form_id = 'BD_MATERIAL'; END""",
    f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON {TABLE} WHEN old.form_id = 'BD_MATERIAL' BEGIN
        DELETE FROM {FTS} WHERE rowid = old.id; END""",
    f"""INSERT INTO {FTS}(rowid, text) SELECT id, {SQLITE_TEXT.format(row=TABLE)} FROM {TABLE}
        WHERE form_id = 'BD_MATERIAL'""",
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {FTS}_{event}" for event in ("insert", "update", "delete")] + [
    f"DROP TABLE IF EXISTS {FTS}"]
# The same expression the query compares (sandbox.kingdee.search.POSTGRESQL_TEXT).
POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"""CREATE INDEX {TRGM} ON {TABLE} USING gin (upper(number || chr(10) || name || chr(10) || model::text)
        gin_trgm_ops) WHERE form_id = 'BD_MATERIAL'""",
]
POSTGRESQL_BACKWARD = [f"DROP INDEX IF EXISTS {TRGM}"]


def _run(schema_editor, statements):
    """All or nothing inside a savepoint: a missing FTS5/trigram or pg_trgm leaves the sandbox as it was."""
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            with schema_editor.connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
    except DatabaseError:
        pass


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_FORWARD)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("sandbox_kingdee", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
