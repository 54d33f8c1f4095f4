"""Pure transforms: nested detail tables, the unit factor (exact), attached files; period helpers."""

from datetime import date
from decimal import Decimal

from integrations import mapping, periods
from integrations.mapping import Row, build_payload, check_row, check_rows

RECORD = {"form": {"付款明细": [
    {"费用明细": "差旅费", "金额(分)": "12345", "项目分摊": [{"项目": "A", "金额(分)": "100"}, {"项目": "B", "金额(分)": "245"}]},
    {"费用明细": "办公费", "金额(分)": "99", "项目分摊": []},
    {"费用明细": "会议费", "金额(分)": "1", "项目分摊": '[{"项目": "C", "金额(分)": "3"}]'},
]}}


def test_a_table_inside_a_detail_row_gives_one_entry_per_child_row_beside_its_parents_columns():
    rows = [Row("E[].AMOUNT", "付款明细[].项目分摊[].金额(分)", "number", {"factor": "0.01"}),
            Row("E[].ITEM", "付款明细[].费用明细"), Row("E[].PROJECT", "付款明细[].项目分摊[].项目")]
    assert check_rows(rows) == [] and all(check_row(row) == [] for row in rows)
    result = build_payload(rows, RECORD)
    assert result.ok, [cell.render_error() for cell in result.errors]
    assert result.payload["E"] == [
        {"AMOUNT": 1.0, "ITEM": "差旅费", "PROJECT": "A"}, {"AMOUNT": 2.45, "ITEM": "差旅费", "PROJECT": "B"},
        {"AMOUNT": 0.99, "ITEM": "办公费"}, {"AMOUNT": 0.03, "ITEM": "会议费", "PROJECT": "C"}]
    assert result.cells[0].source == "付款明细[].项目分摊[1].金额(分)"


def test_a_table_inside_a_detail_row_becomes_sub_entry_rows_of_its_parents_entry_row():
    rows = [Row("E[].ITEM", "付款明细[].费用明细"), Row("E[].AMOUNT", "付款明细[].金额(分)", "number", {"factor": "0.01"}),
            Row("E[].S[].PROJECT", "付款明细[].项目分摊[].项目"),
            Row("E[].S[].AMOUNT", "付款明细[].项目分摊[].金额(分)", "number", {"factor": "0.01"}),
            Row("E[].S[].ITEM", "付款明细[].费用明细")]
    assert check_rows(rows) == [] and all(check_row(row) == [] for row in rows)
    result = build_payload(rows, RECORD)
    assert result.ok, [cell.render_error() for cell in result.errors]
    assert result.payload["E"] == [
        {"ITEM": "差旅费", "AMOUNT": 123.45, "S": [{"PROJECT": "A", "AMOUNT": 1.0, "ITEM": "差旅费"},
                                               {"PROJECT": "B", "AMOUNT": 2.45, "ITEM": "差旅费"}]},
        {"ITEM": "办公费", "AMOUNT": 0.99},
        {"ITEM": "会议费", "AMOUNT": 0.01, "S": [{"PROJECT": "C", "AMOUNT": 0.03, "ITEM": "会议费"}]}]
    assert {cell.target: cell.source for cell in result.cells}["E[1].S[2].AMOUNT"] == "付款明细[1].项目分摊[2].金额(分)"


def test_sub_entry_rows_without_a_child_table_are_one_per_entry_row():
    rows = [Row("E[].ITEM", "付款明细[].费用明细"), Row("E[].S[].NOTE", "付款明细[].费用明细"),
            Row("E[].S[].KIND", "", "constant", {"value": "A"})]
    result = build_payload(rows, RECORD)
    assert result.ok and [entry["S"] for entry in result.payload["E"]] == [
        [{"NOTE": "差旅费", "KIND": "A"}], [{"NOTE": "办公费", "KIND": "A"}], [{"NOTE": "会议费", "KIND": "A"}]]


def test_two_unrelated_tables_for_one_entry_are_still_refused():
    rows = [Row("E[].A", "付款明细[].项目分摊[].项目"), Row("E[].B", "其他表[].x")]
    assert check_rows(rows)


def test_the_unit_factor_is_exact_decimal_arithmetic():
    context = mapping.Context({}, None, mapping.Lookups())
    assert mapping.to_number("1", {"factor": "0.01", "as_text": True}, context) == "0.01"
    assert mapping.to_number("123456789012345", {"factor": "0.01", "as_text": True}, context) == "1234567890123.45"
    assert mapping.to_number("0.1", {"factor": "3", "scale": 2, "as_text": True}, context) == "0.30"
    assert mapping.to_number("10", {"factor": "1000", "scale": 0}, context) == 10000
    assert Decimal(mapping.to_number("33", {"factor": "0.01", "as_text": True}, context)) == Decimal("0.33")
    assert check_row(Row("X", "a", "number", {"factor": "0"}))
    assert check_row(Row("X", "a", "number", {"factor": "abc"}))
    assert check_row(Row("X", "a", "number", {"factor": "0.01"})) == []


def test_attached_files_become_file_entries_and_a_file_without_id_fails_the_row():
    row = Row("ATTACHMENTS", "附件", "attachments")
    files = '[{"spaceId":"1","fileName":"发票.pdf","fileSize":"11890","fileType":"pdf","fileId":"2258"}]'
    result = build_payload([row], {"form": {"附件": files}})
    assert result.payload == {"ATTACHMENTS": [{"file_id": "2258", "file_name": "发票.pdf", "file_size": "11890",
                                               "file_type": "pdf"}]}
    assert build_payload([row], {"form": {"附件": []}}).payload == {}
    assert not build_payload([row], {"form": {"附件": [{"fileName": "x.pdf"}]}}).ok


def test_period_refusals_are_told_from_other_refusals_by_their_words():
    assert periods.is_period_refusal("业务日期(2026-04-30)早于应付当前期间(2026年第5期)，不允许保存！")
    assert periods.is_period_refusal("单据日期所在期间已结账，不能保存")
    assert periods.is_period_refusal("出纳管理已结账，业务日期必须大于结账日期")
    assert not periods.is_period_refusal("凭证借贷不平衡：借方合计1，贷方合计2")
    assert not periods.is_period_refusal("第2行分录：科目（1002-银行存款）设置的下列必录维度未录入或不可用：银行账号")
    assert periods.period_of({"FDATE": "2026-04-30"}) == "2026-04"
    assert periods.first_open_day("业务日期(2026-04-30)早于应付当前期间(2026年第6期)", "2026-04") == date(2026, 6, 1)
    assert periods.first_open_day("凭证日期所在期间已结账", "2026-12") == date(2027, 1, 1)
    redated = periods.redated({"FDATE": "2026-04-30", "FREMARK": "差旅"}, date(2026, 5, 1))
    assert redated == {"FDATE": "2026-05-01", "FREMARK": "差旅 原业务日期 2026-04-30（原期间已结账）"}
