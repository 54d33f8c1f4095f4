"""The full table behind a report message's link: opened from DingTalk, so reached by a signed link."""

from django.core import signing
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from integrations.adapters.template_filters import money
from integrations.models.reports import ReportRun
from integrations.reports.runner import TABLE_SALT

LINK_DAYS = 90


@require_GET
def table(request, token):
    try:
        run_id = signing.loads(token, salt=TABLE_SALT, max_age=LINK_DAYS * 86400)
    except signing.BadSignature:
        return render(request, "reports/table_gone.html", status=404)
    record = get_object_or_404(ReportRun.objects.select_related("report"), pk=run_id)
    return render(request, "reports/table.html", {"run": record, "tables": displayed(record.tables)})


def displayed(tables, rows=None):
    """The tables as the full table and the admin's preview show them: each row as cells, amounts formatted;
    the first `rows` rows only, if given."""
    return [{**table, "cells": [[_cell(row.get(column, ""), column in table["totals"]) for column in table["columns"]]
                                for row in table["rows"][:rows]],
             "total_cells": [_cell(table["totals"].get(column, ""), True) for column in table["columns"]]}
            for table in tables.values()]


def _cell(value, amount):
    """(text, is a number): summed columns as amounts with two decimals and thousands separators."""
    return (money(value), True) if amount and value != "" else (value, False)
