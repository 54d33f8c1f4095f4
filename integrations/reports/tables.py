"""A report's tables from query rows: grouping, totals, ageing buckets, order and top N. Pure functions.

A query spec (one entry of `Report.queries`):

    {"name": "sales", "label": "销售出库", "form": "SAL_OUTSTOCK",
     "fields": {"org": "FSaleOrgId.FName", "amount": "FAllAmount"},
     "filter": "FDate >= '{yesterday}' and FDate < '{today}'",
     "group_by": ["org"], "sum": ["amount"], "order": "-amount", "limit": 10,
     "ageing": {"date": "date", "amount": "open", "edges": [30, 60, 90]}}

Filters may use the placeholders {today}, {yesterday}, {tomorrow}, {month_start}, {week_start}.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from integrations.models.reports import ageing_columns, check_spec  # noqa: F401  (the spec's rules)

class SpecError(ValueError):
    pass


def placeholders(today):
    return {"today": f"{today:%Y-%m-%d}", "yesterday": f"{today - timedelta(days=1):%Y-%m-%d}",
            "tomorrow": f"{today + timedelta(days=1):%Y-%m-%d}", "month_start": f"{today.replace(day=1):%Y-%m-%d}",
            "week_start": f"{today - timedelta(days=today.weekday()):%Y-%m-%d}"}


def fill_filter(text, today):
    try:
        return (text or "").format(**placeholders(today))
    except (KeyError, IndexError, ValueError) as error:
        raise SpecError(f"filter placeholder {error}") from error


def number(value):
    if isinstance(value, bool) or value in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)[:19]).date()
    except ValueError:
        return None


def with_ageing(rows, spec, today):
    """Each row gains the ageing columns: its amount sits in the bucket of its age in days."""
    ageing = spec.get("ageing") or {}
    columns, edges = ageing_columns(spec), ageing.get("edges") or []
    if not columns:
        return rows
    for row in rows:
        day = as_date(row.get(ageing.get("date")))
        age = (today - day).days if day else 0
        bucket = next((index for index, edge in enumerate(edges) if age <= edge), len(edges))
        for index, column in enumerate(columns):
            row[column] = number(row.get(ageing.get("amount"))) if index == bucket else Decimal(0)
    return rows


def table(rows, spec, today):
    """{"label", "columns", "rows", "totals", "count"}: grouped, summed, ordered and cut to `limit`."""
    rows = with_ageing([dict(row) for row in rows], spec, today)
    sums = list(spec.get("sum") or []) + ageing_columns(spec)
    group_by = list(spec.get("group_by") or [])
    if group_by:
        rows = _grouped(rows, group_by, sums)
    else:
        for row in rows:
            row.update({name: number(row.get(name)) for name in sums})
    if spec.get("order"):
        key = spec["order"].lstrip("-")
        rows.sort(key=lambda row: _sortable(row.get(key)), reverse=spec["order"].startswith("-"))
    totals = {name: sum((row[name] for row in rows), Decimal(0)) for name in sums}
    count = len(rows)
    if spec.get("limit"):
        rows = rows[: int(spec["limit"])]
    headers = spec.get("headers") or {}
    columns = group_by + sums if group_by else list(spec.get("fields") or headers) + ageing_columns(spec)
    return {"label": spec.get("label") or spec["name"], "columns": columns,
            "headers": [headers.get(column, column) for column in columns], "rows": rows, "totals": totals,
            "count": count}


def _grouped(rows, group_by, sums):
    groups = {}
    for row in rows:
        key = tuple(row.get(name) for name in group_by)
        group = groups.setdefault(key, {**dict(zip(group_by, key)), **{name: Decimal(0) for name in sums},
                                        "lines": 0})
        group["lines"] += 1
        for name in sums:
            group[name] += number(row.get(name))
    return list(groups.values())


def _sortable(value):
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (0, Decimal(str(value)), "")
    return (1, Decimal(0), str(value or ""))
