"""Substring search over materials through the index of migration 0002_lookup_material_search.

The index answers "which materials may contain this text in their number, name or specification": a superset
that `_candidates` narrows the database read with, while the FilterString itself still decides every row.
"""

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

FORM_ID = "BD_MATERIAL"
FTS = "sandbox_kingdee_material_text"
TRGM = "sandbox_kingdee_material_trgm"
POSTGRESQL_TEXT = "upper(number || chr(10) || name || chr(10) || model::text)"
_present = set()


def material_index():
    """"sqlite" or "postgresql" when this database has the index, else None (FTS5/trigram or pg_trgm missing)."""
    key = (connection.vendor, str(connection.settings_dict["NAME"]))
    if key in _present:
        return connection.vendor
    if connection.vendor == "sqlite":
        sql, name = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", FTS
    elif connection.vendor == "postgresql":
        sql, name = "SELECT 1 FROM pg_indexes WHERE indexname = %s", TRGM
    else:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql, [name])
        if cursor.fetchone() is None:
            return None  # not remembered: a later migrate adds it
    _present.add(key)
    return connection.vendor


def indexable(text):
    """Whether the index finds every record whose field contains `text` the way the filter compares (case
    folded as Python does): text without cased non-ASCII characters, and on PostgreSQL, which indexes the
    stored JSON text and reads a backslash in LIKE as an escape, none of the characters JSON escapes."""
    if any(not char.isascii() and (char.lower() != char or char.upper() != char) for char in text):
        return False
    return connection.vendor != "postgresql" or (text.isprintable() and not any(mark in text for mark in '"\\'))


def containing(texts):
    """Q: the material is in the index's answer for at least one of the texts."""
    texts = sorted(texts)
    if connection.vendor == "sqlite":
        sql = " UNION ".join(f"SELECT rowid FROM {FTS} WHERE {_fts_column(text)} LIKE %s" for text in texts)
        return Q(id__in=RawSQL(sql, [f"%{text}%" for text in texts]))
    likes = " OR ".join(f"{POSTGRESQL_TEXT} LIKE upper(%s)" for _text in texts)
    return Q(id__in=RawSQL(f"SELECT id FROM sandbox_kingdee_formrecord WHERE form_id = '{FORM_ID}' AND ({likes})",
                           [f"%{text}%" for text in texts]))


def _fts_column(text):
    """The trigram index serves three characters or more; shorter text (two Chinese characters are a common
    search) reads the index's own small copy of the text, as an expression FTS5 does not answer: SQLite
    before 3.44 finds nothing for a short LIKE through the index instead of scanning."""
    return "text" if len(text) >= 3 else "(text || '')"
