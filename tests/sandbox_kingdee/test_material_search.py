"""The material index (migration 0002_lookup_material_search) only narrows what the sandbox reads: every search
answers exactly what reading all materials answers, and every way a material is written keeps it current."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mobile.lookup import MATERIAL_FIELDS, material_filter
from sandbox.kingdee import query, search
from sandbox.kingdee.models import FormRecord
from sandbox.kingdee.trade import fill_materials, material_model

pytestmark = pytest.mark.django_db


def add(fid, number, name, **model):
    return FormRecord.objects.create(form_id="BD_MATERIAL", fid=fid, number=number, name=name,
                                     model={"FNumber": number, **model})


@pytest.fixture
def materials():
    fill_materials(400)
    add(7001, "X.01", "Gateway MAX 网关", FSpecification="Mixed-Case xk9")
    add(7002, "X.02", "防爆接线盒", fspecification=[{"Key": 2052, "Value": "防爆型 EX-d"}])  # Kingdee's multilingual form
    add(7003, "X.03", "扩展板", SubHeadEntity1={"FSpecification": "子表规格 SH-7"})
    add(7004, "X.04", "电缆 quote\"d", FSpecification="back\\slash 100%")
    renamed = add(7005, "X.05", "旧名称 OLDNAME", **material_model("R-1", "配件", 5))
    renamed.name, renamed.model["FSpecification"] = "新名称 NEWNAME", "R-2"
    renamed.save()
    FormRecord.objects.filter(number="9.00.011").update(name="改过的名字 ZZTOP")
    FormRecord.objects.filter(number="9.00.012").delete()
    return FormRecord.objects.filter(form_id="BD_MATERIAL")


def ask(filter_string, keys=MATERIAL_FIELDS, order="FNumber ASC", start=0, limit=2000):
    return query.run_query({"FormId": "BD_MATERIAL", "FieldKeys": ",".join(keys), "FilterString": filter_string,
                            "OrderString": order, "StartRow": start, "Limit": limit})[1]


def without_index(monkeypatch, filter_string, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(search, "material_index", lambda: None)
        return ask(filter_string, **kwargs)


TEXTS = ["星河", "型", "网关", "星河网关", "9.00.01", "9.00", "a00", "A0007", "00012型", "xk9", "XK9", "gateway max",
         "防爆", "ex-d", "EX-D", "SH-7", "子表", "新名称", "oldname", "NEWNAME", "R-2", "R-1", "zztop", "9.00.012",
         "\"d", "back\\slash", "没有这种", "pcs", "100", "1", "-"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_search_answers_what_reading_every_material_answers(monkeypatch, materials, text):
    for filter_string in [material_filter(text), f"FName like '%{text}%'",
                          f"FSpecification like '%{text}%' and FForbidStatus = 'A'", f"FNumber like '{text}%'"]:
        assert ask(filter_string) == without_index(monkeypatch, filter_string)


def test_renamed_and_deleted_materials_are_found_by_what_they_hold_now(materials):
    assert [row[1] for row in ask(material_filter("新名称"))] == ["新名称 NEWNAME"]
    assert ask(material_filter("旧名称")) == [] and ask(material_filter("ZZTOP"))[0][0] == "9.00.011"
    assert ask(material_filter("9.00.012")) == []


def test_a_material_search_reads_through_the_index_where_the_database_has_one(materials):
    if connection.vendor not in ("sqlite", "postgresql"):
        pytest.skip("no substring index on this database")
    with CaptureQueriesContext(connection) as queries:
        found = ask(material_filter("星河网关 00"), order="FNumber ASC", limit=20)

    assert search.material_index() == connection.vendor and found
    narrowed = search.FTS if connection.vendor == "sqlite" else "LIKE upper("
    assert any(narrowed in q["sql"] for q in queries.captured_queries)
