"""The sandbox answers a material search like Kingdee's SQL: the same rows whichever way it reads them, one page
(StartRow, Limit, TopRowCount) read in number order, and only as many whole records as the page needs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.reports.stock import STOCK_FIELDS
from mobile.lookup import MATERIAL_FIELDS, material_filter
from sandbox.kingdee import query
from sandbox.kingdee.models import FormRecord
from sandbox.kingdee.trade import STOCKS, fill_materials

pytestmark = pytest.mark.django_db


@pytest.fixture
def materials():
    for number, name, _org in STOCKS:  # the warehouses the seed creates
        FormRecord.objects.create(form_id="BD_STOCK", fid=900 + int(number[2:]), number=number, name=name)
    fill_materials(600)
    FormRecord.objects.filter(form_id="BD_MATERIAL", number="9.00.007").update(forbidden=True)
    return FormRecord.objects.filter(form_id="BD_MATERIAL")


def ask(form_id, keys, filter_string, order="", start=0, limit=0, top=0):
    return query.run_query({"FormId": form_id, "FieldKeys": ",".join(keys), "FilterString": filter_string,
                            "OrderString": order, "StartRow": start, "Limit": limit, "TopRowCount": top})[1]


def general(monkeypatch, *args, **kwargs):
    """The same question answered by reading every candidate record (the path for any other query)."""
    with monkeypatch.context() as patch:
        patch.setattr(query, "_paged_by_column", lambda *a: None)
        return ask(*args, **kwargs)


@pytest.mark.parametrize("text", ["星河", "网关 00", "9.00.00", "a00", "A0007", "00012型", "没有这种", "pcs", "100"])
@pytest.mark.parametrize("order", ["FNumber ASC", "FNumber DESC", "", "FMATERIALID DESC"])
def test_a_search_page_is_the_rows_the_general_path_gives(monkeypatch, materials, text, order):
    for start, limit, top in [(0, 20, 0), (20, 20, 0), (0, 50, 30), (5, 10, 12)]:
        page = ask("BD_MATERIAL", MATERIAL_FIELDS, material_filter(text), order, start, limit, top)
        assert page == general(monkeypatch, "BD_MATERIAL", MATERIAL_FIELDS, material_filter(text), order, start,
                               limit, top)


def test_forbidden_materials_are_not_found_and_the_filter_still_decides(materials):
    found = ask("BD_MATERIAL", ["FNumber"], material_filter("9.00.00"), "FNumber ASC", 0, 20)

    assert [row[0] for row in found] == [f"9.00.00{i}" for i in range(10) if i != 7]


def test_a_common_word_reads_only_the_records_of_its_page(materials):
    with CaptureQueriesContext(connection) as queries:
        found = ask("BD_MATERIAL", MATERIAL_FIELDS, material_filter("型"), "FNumber ASC", 0, 20)

    assert len(found) == 20 and materials.count() > 500
    # ids and numbers of the candidates once, then one batch of whole records: not 600 records
    whole = [q["sql"] for q in queries.captured_queries
             if '"model"' in q["sql"].split(" FROM ")[0] and "'BD_MATERIAL'" in q["sql"]]
    assert len(whole) == 1


def test_stock_by_material_numbers_is_looked_up_not_scanned(materials):
    numbers = ["9.00.001", "9.00.002"]
    filter_string = f"FMaterialId.FNumber in ({','.join(repr(n) for n in numbers)})"
    with CaptureQueriesContext(connection) as queries:
        rows = ask("STK_Inventory", STOCK_FIELDS, filter_string, "FMaterialId.FNumber ASC", 0, 10000)

    assert {row[0] for row in rows} == set(numbers) and len(rows) == 6
    assert not any("ORDER BY" in q["sql"] and "STK_Inventory" in q["sql"] for q in queries.captured_queries)
