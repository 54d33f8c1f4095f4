"""Finance's review of the ledger: which records need a person, in words a person reads."""

import json
import re

from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from integrations import reasons
from integrations.models import SyncRecord
from portal.text import shorten

Status = SyncRecord.Status

# The review list's `review` filter: what each choice shows. None is the default: what needs a person (failures
# and conflicts), apart from routine skips (refused or cancelled approvals).
NEEDS_ACTION = (Status.FAILED, Status.CONFLICT)
SHOWS = {
    None: Q(status__in=NEEDS_ACTION),
    "failed": Q(status=Status.FAILED),
    "conflict": Q(status=Status.CONFLICT),
    "skipped": Q(status=Status.SKIPPED),
    "all": Q(status__in=[*NEEDS_ACTION, Status.SKIPPED]),
    "handled": Q(status=Status.HANDLED),
    "retried": Q(status=Status.SUCCEEDED, booked_via=SyncRecord.Via.RETRY),
    "period": Q(status=Status.PERIOD),  # waiting for a closed accounting period (booked when it opens)
}
# DingTalk names approvals "<originator>提交的<template>".
TITLE_ORIGINATOR = re.compile(r"^(.{1,20}?)提交的")
# Lines that belong to a Python traceback, never to a reason a person should read.
TRACEBACK_LINE = re.compile(r'^(Traceback \(most recent call last\)|\s+File "|\s{4}\S)')


def with_originator_names(queryset):
    """`originator_name` on each record. The record's organisation (its scheme's source connection) is read in the
    subquery, not through a join of the list's own query: a join stays in the list's COUNT (which drops unused
    annotations but not their joins), and at a million ledger rows that join was half the count's time."""
    from integrations.identity import name_of
    from integrations.models import Scheme

    organisation = Subquery(Scheme.objects.filter(pk=OuterRef(OuterRef("scheme_id"))).values("source_connection")[:1])
    return queryset.annotate(originator_name=name_of(OuterRef("originator"), organisation))


def originator_label(record):
    """The originator's name from the identity map, else from the approval's title, else the userid."""
    name = getattr(record, "originator_name", None)
    if name:
        return name
    found = TITLE_ORIGINATOR.match(record.title or "")
    return found.group(1) if found else record.originator or "—"


def reason_text(record):
    """The record's reason in the reader's language, people named (the originator's name comes annotated)."""
    names = {record.originator: originator_label(record)} if record.originator else {}
    return readable_reason(reasons.describe(record, names))


def readable_reason(text):
    """The reason as stored (Kingdee's or DingTalk's own words, mapping errors naming the field), without any
    traceback a crash might have left."""
    lines = [line for line in (text or "").splitlines() if line.strip() and not TRACEBACK_LINE.match(line)]
    return "\n".join(lines).strip()


def short_reason(text, length=80):
    return shorten(readable_reason(text).split("\n", 1)[0], length)


# Reasons are counted among the newest records only, so that counting them costs the same at a million ledger
# rows as at a thousand (the review list's partial index record_to_review serves the newest first).
REASON_SAMPLE = 2000


def newest(records, count=REASON_SAMPLE):
    """The newest `count` of `records` (by last update), as a queryset to group."""
    return SyncRecord.objects.filter(pk__in=records.order_by("-updated_at", "-id").values("pk")[:count])


def reason_groups(records, limit=8):
    """[(stored text, the reason in the reader's language, count)] most frequent first, among the newest
    REASON_SAMPLE of the records given (one query)."""
    return [group[:3] for group in reason_groups_with_examples(records, limit)]


def reason_groups_with_examples(records, limit=8):
    """As `reason_groups`, each with the id of its newest record."""
    groups = sample_groups(records, ("error", "reason_code", "reason_params"), limit)
    names = names_of_examples([last for *_group, last in groups])
    return [(error, readable_reason(reasons.render(code, params, names.get(last)) if code else error) or error,
             count, last) for error, code, params, count, last in groups]


def names_of_examples(ids):
    """{record id: {originator's userid: name}} for the example records of grouped reasons (one query), so that a
    reason counted over many records names the person as each record's own reason does (a reason is grouped by
    its parameters: every record of a group has the same originator wherever the reason quotes one)."""
    if not ids:
        return {}
    found = with_originator_names(SyncRecord.objects.filter(pk__in=ids)).only("id", "originator", "title")
    return {record.pk: {record.originator: originator_label(record)} for record in found if record.originator}


def sample_groups(records, columns, limit, count=REASON_SAMPLE):
    """[(*columns, records, newest id)] most frequent first, among the newest `count` of `records` that have a
    reason (`columns` name "error" among them; one query). The sample is grouped as the index hands it out: fetching each sampled row again by its
    id (`pk__in`) reads four times as many pages, and at a million rows the sample lies anywhere in the table."""
    sample = records.order_by("-updated_at", "-id").values("id", *columns)[:count]
    sql, params = sample.query.sql_with_params()
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names}, COUNT(*), MAX(id) FROM ({sql}) sample WHERE error <> '' "
                       f"GROUP BY {names} ORDER BY COUNT(*) DESC, {names} LIMIT %s", [*params, limit])
        rows = cursor.fetchall()
    if "reason_params" not in columns:
        return rows
    at = columns.index("reason_params")  # a raw cursor leaves JSON as text
    return [(*row[:at], json.loads(row[at]) if isinstance(row[at], str) else row[at], *row[at + 1:]) for row in rows]


def top_reasons(records, limit=8):
    """[(reason, count)] most frequent first, over the records given, in the reader's language."""
    return [(text, count) for _error, text, count in reason_groups(records, limit)]


DATA_FIELDS = ("source_data", "payload", "response")


def shown_data(record, masker=None):
    """{"source_data", "payload", "response"} as `masker` lets the reader see them (None: as stored). Masking all
    three first lets `masker.text` hide the same values in the reason."""
    data = {name: getattr(record, name) for name in DATA_FIELDS}
    if masker is None:
        return data
    masked = {name: masker.data(value) for name, value in data.items()}
    return {name: masker.scrub(value) for name, value in masked.items()}


def masked_by_example(masker, texts):
    """[text] of `texts` ([(text, id of a record that has it)]) as `masker` lets the reader see them: each reason
    masked with the data of its example record, the values being the same in every record with that reason (one
    query for the examples' data; `masker` None: as they are)."""
    if masker is None:
        return [text for text, _example in texts]
    data = {pk: dict(zip(DATA_FIELDS, values)) for pk, *values in SyncRecord.objects.filter(
        pk__in=[example for _text, example in texts]).values_list("pk", *DATA_FIELDS)}
    return [masker_for_data(masker, data.get(example, {})).text(text) for text, example in texts]


def masker_for_data(masker, data):
    """A fresh masker with `masker`'s field names that has seen one record's data ({name: value} of
    DATA_FIELDS): its `text` hides in a reason the values the data holds under sensitive fields."""
    fresh = type(masker)(masker.names)
    for value in data.values():
        fresh.data(value)
    return fresh
