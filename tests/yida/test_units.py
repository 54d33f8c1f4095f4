"""The pure parts: which month is due in a window, exact sums of DingTalk's daily texts, a Yida search row as a
record for mapping, the Yida field picker's paths."""

from datetime import datetime
from zoneinfo import ZoneInfo

from integrations import mapping
from integrations.adapters.attendance import months_due, total
from integrations.adapters.yida import normalise
from integrations.engine.catalog import yida_fields
from tests.contract.cases_yida import DEFINITIONS, yida_row

BEIJING = ZoneInfo("Asia/Shanghai")


def at(day, hour=0, month=11):
    return datetime(2026, month, day, hour, tzinfo=BEIJING)


def test_the_previous_month_is_due_when_day_n_starts_inside_the_window():
    assert months_due(at(2, 23), at(3, 1), 3) == ["2026-10"]
    assert months_due(at(3, 1), at(29), 3) == []  # day 3 began before the window
    assert months_due(at(1, month=10), at(10), 3) == ["2026-09", "2026-10"]
    assert months_due(datetime(2026, 12, 31, tzinfo=BEIJING), datetime(2027, 1, 4, tzinfo=BEIJING), 3) == ["2026-12"]


def test_daily_texts_are_summed_exactly_and_text_values_ignored():
    assert total([("d1", "1.0"), ("d2", "0.5"), ("d3", "0.1"), ("d4", "0.2")]) == "1.8"
    assert total([("d1", "默认班次"), ("d2", "0.0")]) == "0"
    assert total([("d1", "8.0"), ("d2", "12.0")]) == "20"


def test_a_search_row_maps_by_label_with_one_entry_row_per_sub_table_row():
    components = {item["fieldId"]: (item["label"], item["componentName"], item["parentId"]) for item in DEFINITIONS}
    record = normalise(yida_row(7), components)
    assert record["form_instance_id"] == "FINST-0007" and record["originator_name"] == "张三"
    assert record["modified_at"] == "2026-05-01T11:22:01+08:00" and record["form"]["销售员"] == "u1"
    rows = [mapping.Row("FCustId", "客户编码", "basedata"), mapping.Row("E[].FQty", "订单明细[].数量", "number"),
            mapping.Row("E[].FMaterialId", "订单明细[].textField_mat", "basedata")]
    built = mapping.build_payload(rows, record)
    assert built.ok and built.payload == {"FCustId": {"FNumber": "CUST0001"}, "E": [
        {"FQty": 2.0, "FMaterialId": {"FNumber": "1.01.001"}}, {"FQty": 5.0, "FMaterialId": {"FNumber": "2.01.001"}}]}


def test_the_field_picker_names_sub_table_columns_under_their_table():
    assert [path for path, _caption, _kind in yida_fields(DEFINITIONS)] == ["客户编码", "销售员", "订单明细[].物料编码",
                                                                              "订单明细[].数量"]
