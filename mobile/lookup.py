"""The inventory search: materials by number, name or specification, and their stock by warehouse.

Read-only (ExecuteBillQuery only), cached in the shared cache for the configured time so that a repeated
search asks Kingdee nothing, and limited per person and minute.
"""

import hashlib
from contextlib import contextmanager
import threading
import time
from decimal import Decimal

from django.core.cache import cache

from integrations.adapters.kingdee import quote
from integrations.adapters.kingdee_query import both, rows_as_dicts
from integrations.clients import client_for
from integrations.models import Connection
from integrations.reports.stock import inventory

MAX_TEXT = 40
MATERIAL_FIELDS = ["FNumber", "FName", "FSpecification", "FBaseUnitId.FName"]

_clients, _lock = {}, threading.Lock()
_flights = {}


@contextmanager
def _in_flight(key):
    with _lock:
        flight = _flights.setdefault(key, [threading.Lock(), 0])
        flight[1] += 1
    try:
        with flight[0]:
            yield
    finally:
        with _lock:
            flight[1] -= 1
            if not flight[1]:
                _flights.pop(key, None)


def kingdee(connection):
    """One client per connection and process, so searches reuse its session (keyed on the last change)."""
    key = (connection.pk, connection.updated_at)
    with _lock:
        if key not in _clients:
            for stale in [k for k in _clients if k[0] == connection.pk]:
                del _clients[stale]
            _clients[key] = client_for(connection)
        return _clients[key]


def clean(text):
    """The words of a search: `%` dropped (it would widen the LIKE), at most MAX_TEXT characters."""
    return " ".join((text or "").replace("%", " ").split())[:MAX_TEXT]


def material_filter(text):
    """Every word must appear in the number, the name or the specification."""
    words = [quote(f"%{word}%") for word in text.split()]
    return both(*(f"FNumber like {w} or FName like {w} or FSpecification like {w}" for w in words),
                "FForbidStatus = 'A'")


def _words_key(text):
    """Every word must match, in any order: "网关 星河" is the same search as "星河网关"'s words reordered, and
    case does not matter to Kingdee's like, so both share one cache entry."""
    return " ".join(sorted(set(text.lower().split())))


def key(settings, text):
    """The shared cache's name for this search (its words cleaned, in any order and case)."""
    return "mobile:inventory:" + hashlib.sha1(f"{settings.kingdee_id}|{settings.max_results}|{_words_key(text)}"
                                              .encode()).hexdigest()


def search(settings, text):
    """(materials, from_cache). Each material: number, name, spec, unit, stocks [{org, org_name, warehouse,
    warehouse_name, qty, available}] summed per warehouse and organisation."""
    entry, from_cache = search_entry(settings, text)
    return entry["materials"], from_cache


def search_entry(settings, text):
    """({"materials", "read_at"}, from_cache): `read_at` (epoch seconds) is when Kingdee answered, so that what is
    made from the answer can expire with it."""
    text = clean(text)
    name = key(settings, text)
    found = cache.get(name)
    if found is not None:
        return found, True
    with _in_flight(name):  # the same search by several people at once asks Kingdee once (per process)
        found = cache.get(name)
        if found is not None:
            return found, True
        found = {"materials": _read(settings, text), "read_at": time.time()}
        cache.set(name, found, settings.cache_seconds)
        return found, False


def _read(settings, text):
    # The connection as saved now (the settings may be a memo of an earlier request): a changed password or
    # address is used at once, and the client is made again (`kingdee` keys it on the last change).
    client = kingdee(Connection.objects.get(pk=settings.kingdee_id))
    rows = client.execute_bill_query("BD_MATERIAL", MATERIAL_FIELDS, material_filter(text), "FNumber ASC", 0,
                                     settings.max_results)
    materials = [_material(row) for row in rows_as_dicts(MATERIAL_FIELDS, rows)]
    if materials:
        _add_stock(materials, inventory(client, [m["number"] for m in materials]))
    return materials


def _material(row):
    return {"number": row["FNumber"], "name": row["FName"], "spec": row["FSpecification"],
            "unit": row["FBaseUnitId.FName"], "stocks": []}


def _add_stock(materials, rows):
    by_number = {material["number"]: {} for material in materials}
    for row in rows:
        place = (row["FStockOrgId.FNumber"], row["FStockId.FNumber"])
        stock = by_number[row["FMaterialId.FNumber"]].setdefault(place, {
            "org": place[0], "org_name": row["FStockOrgId.FName"], "warehouse": place[1],
            "warehouse_name": row["FStockId.FName"], "qty": Decimal(0), "available": Decimal(0)})
        stock["qty"] += Decimal(str(row["FBaseQty"] or 0))
        stock["available"] += Decimal(str(row["FBaseAvbQty"] or 0))
    for material in materials:
        material["stocks"] = sorted(by_number[material["number"]].values(), key=lambda s: s["warehouse"])


def over_limit(userid, per_minute):
    """True when this person already searched `per_minute` times in the current minute."""
    key = f"mobile:rate:{userid}:{int(time.time() // 60)}"
    try:  # counting first: one write per search (the shared cache may be a database table)
        return cache.incr(key) > per_minute
    except ValueError:  # the first search of this minute
        if cache.add(key, 1, timeout=61):
            return False
    try:
        return cache.incr(key) > per_minute
    except ValueError:
        return False
