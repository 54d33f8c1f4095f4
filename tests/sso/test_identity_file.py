"""Reading a sheet and finding every bad row, before anything touches the database."""

import pytest

from sso.identity_file import UnreadableFile, read
from tests.sso.conftest import HEADERS, csv_bytes, xlsx_bytes


def check(rows, maker=xlsx_bytes, name="map.xlsx", **kwargs):
    return read(maker(rows, **kwargs), name)


def test_a_clean_row_is_read_as_text_with_active_as_a_flag():
    checked = check([["manager4521", " 张三 ", "13800138000", "张三", "000123", "是"]])
    assert checked.bad_rows == []
    assert checked.rows == [(2, {"钉钉用户ID": "manager4521", "姓名": "张三", "手机号": "13800138000",
                                 "金蝶用户名": "张三", "金蝶员工编码": "000123", "启用": True})]


def test_each_bad_row_is_reported_with_its_excel_row_number_and_reason():
    checked = check([
        ["u1", "甲", "13800138001", "甲", "0001", "是"],
        [None, "乙", "13800138002", "乙", "0002", "是"],
        ["u1", "丙", "13800138003", "丙", "0003", "否"],
        ["u4", "丁", "13800138004", "丁", "0004", "maybe"],
        ["u5", "戊", 13800138005.0, "戊", "0005", "是"],
        ["u6", "己", "13800138006", "己", 123, "是"],
    ])
    reasons = dict(checked.bad_rows)
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert reasons[3] == "缺少钉钉用户ID"
    assert reasons[4] == "钉钉用户ID u1 与第 2 行重复"
    assert reasons[5] == "启用 只能填“是”或“否”，无法识别“maybe”"
    assert reasons[6] == "手机号 被 Excel 存成了数字 13800138005：请把该列设为文本格式后重新录入"
    assert reasons[7].startswith("金蝶员工编码 被 Excel 存成了数字 123，开头的 0 会丢失")
    assert [number for number, _row in checked.rows] == [2]


def test_mobile_typed_as_decimal_text_in_a_csv_is_also_caught():
    checked = check([["u1", "甲", "13800138000.0", "甲", "0001", "是"]], csv_bytes, "map.csv")
    assert checked.bad_rows[0][0] == 2 and "13800138000.0" in checked.bad_rows[0][1]


def test_a_numeric_userid_cell_is_refused_because_userids_can_start_with_zero():
    checked = check([[12345, "甲", "13800138000", "甲", "0001", "是"]])
    assert checked.bad_rows and "钉钉用户ID" in checked.bad_rows[0][1]


@pytest.mark.parametrize("word, flag", [("是", True), ("否", False), ("启用", True), ("停用", False), ("TRUE", True),
                                        ("0", False), (None, True), (True, True), (False, False)])
def test_the_active_column_reads_the_words_people_use(word, flag):
    checked = check([["u1", "甲", "", "甲", "", word]])
    assert checked.rows[0][1]["启用"] is flag


def test_blank_rows_are_ignored_and_missing_columns_are_left_alone():
    checked = check([["u1", "甲"], [None, None], ["u2", "乙"]], headers=["钉钉用户ID", "姓名"])
    assert checked.headers == ["钉钉用户ID", "姓名"] and len(checked.rows) == 2 and not checked.bad_rows


def test_gb18030_csv_from_chinese_excel_is_read():
    checked = check([["u1", "张三", "13800138000", "张三", "0001", "是"]], csv_bytes, "map.csv", encoding="gb18030")
    assert checked.rows[0][1]["姓名"] == "张三"


def test_too_long_values_are_reported_before_the_database_would_refuse_them():
    checked = check([["u1", "名" * 101, "", "", "", "是"]])
    assert checked.bad_rows and "100" in checked.bad_rows[0][1]


def test_a_file_without_the_userid_header_is_unreadable():
    with pytest.raises(UnreadableFile):
        check([["甲"]], headers=["姓名"])


def test_a_file_that_is_not_a_workbook_is_unreadable():
    with pytest.raises(UnreadableFile):
        read(b"not a zip", "map.xlsx")
    with pytest.raises(UnreadableFile):
        read(b"x", "map.txt")
