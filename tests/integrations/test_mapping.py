from decimal import Decimal

import pytest

from integrations import mapping
from integrations.mapping import Lookups, Row, build_payload, check_row, check_rows

CLAIM = {
    "process_instance_id": "inst-1",
    "title": "张伟提交的费用报销",
    "business_id": "202605011200000001",
    "status": "COMPLETED",
    "result": "agree",
    "create_time": "2026-05-01T09:30:00+08:00",
    "finish_time": "2026-05-01T23:40:00+08:00",
    "originator_userid": "u1",
    "originator_dept_id": "582976341",
    "form": {
        "报销类别": "行政报销",
        "报销事由": "上海出差",
        "报销总额(元)": "1,280.50",
        "报销明细": [
            {"费用发生日期": "2026-04-28", "费用明细": "差旅费", "报销金额(元)": "1000.5", "收款人": "张伟",
             "收款账号": "6222000011112222", "备注说明": "机票"},
            {"费用发生日期": "2026-04-29", "费用明细": "交通费", "报销金额(元)": "280", "收款人": "张伟",
             "收款账号": "6222000011112222", "备注说明": "null"},
        ],
        "附件": "",
    },
}
ITEMS = {"费用明细→费用项目": {"差旅费": "FYXM02_SYS", "交通费": "FYXM11_SYS"}}


def identity(userid):
    return {"u1": {"staff_number": "XH0001", "username": "张伟"}}.get(userid)


LOOKUPS = Lookups(value_maps=ITEMS, identity=identity)


def payload(*rows, record=CLAIM, lookups=LOOKUPS):
    result = build_payload(list(rows), record, lookups)
    assert result.ok, [cell.render_error() for cell in result.errors]
    return result.payload


def only_error(*rows, record=CLAIM):
    result = build_payload(list(rows), record, LOOKUPS)
    assert len(result.errors) == 1
    return result.errors[0].render_error()


def test_it_copies_instance_fields_and_form_labels():
    assert payload(Row("FTHIRDBILLNO", "process_instance_id"), Row("FREMARK", "报销事由")) == {
        "FTHIRDBILLNO": "inst-1", "FREMARK": "上海出差"}


def test_it_builds_one_entry_row_per_detail_row_and_broadcasts_constants():
    result = payload(
        Row("FPAYBILLENTRY[].FPAYTOTALAMOUNTFOR", "报销明细[].报销金额(元)", "number", {"positive": True}),
        Row("FPAYBILLENTRY[].FCOSTID", "报销明细[].费用明细", "value_map", {"map": "费用明细→费用项目", "wrap": "FNumber"}),
        Row("FPAYBILLENTRY[].FSETTLETYPEID", "", "constant", {"value": "JSFS04_SYS", "wrap": "FNumber"}),
        Row("FPAYBILLENTRY[].FCOMMENT", "报销明细[].备注说明"),
    )
    assert payload_rows(result) == [
        {"FPAYTOTALAMOUNTFOR": 1000.5, "FCOSTID": {"FNumber": "FYXM02_SYS"},
         "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"}, "FCOMMENT": "机票"},
        {"FPAYTOTALAMOUNTFOR": 280.0, "FCOSTID": {"FNumber": "FYXM11_SYS"},
         "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"}},
    ]


def payload_rows(result):
    return result["FPAYBILLENTRY"]


def test_it_maps_the_originator_to_a_kingdee_staff_number_through_the_identity_map():
    assert payload(Row("FCONTACTUNIT", "originator_userid", "identity", {"wrap": "FNumber"})) == {
        "FCONTACTUNIT": {"FNumber": "XH0001"}}
    assert payload(Row("U", "originator_userid", "identity", {"field": "username"})) == {"U": "张伟"}


def test_an_unmapped_originator_names_field_source_and_value():
    record = {**CLAIM, "originator_userid": "u404"}
    message = only_error(Row("FCONTACTUNIT", "originator_userid", "identity"), record=record)
    assert "FCONTACTUNIT" in message and "originator_userid" in message and "u404" in message


def test_a_missing_value_map_entry_names_the_detail_row():
    record = {**CLAIM, "form": {**CLAIM["form"], "报销明细": [{"费用明细": "加班打车", "报销金额(元)": "35"}]}}
    message = only_error(Row("FPAYBILLENTRY[].FCOSTID", "报销明细[].费用明细", "value_map", {"map": "费用明细→费用项目"}),
                         record=record)
    assert "FPAYBILLENTRY[1].FCOSTID" in message
    assert "报销明细[1].费用明细" in message
    assert "加班打车" in message


def test_dates_accept_iso_epoch_millis_and_local_text():
    assert payload(Row("FDATE", "finish_time", "date")) == {"FDATE": "2026-05-01"}
    assert payload(Row("D", "t", "date"), record={"t": 1777654800000}) == {"D": "2026-05-02"}
    assert payload(Row("D", "t", "date", {"format": "yyyy-MM-dd HH:mm:ss"}), record={"t": "2026-05-01 23:40"}) == {
        "D": "2026-05-01 23:40:00"}
    # 2026-05-01 17:00 UTC is already 2 May in Beijing
    assert payload(Row("D", "t", "date"), record={"t": "2026-05-01T17:00:00Z"}) == {"D": "2026-05-02"}


def test_numbers_round_to_scale_and_refuse_text():
    assert payload(Row("A", "报销总额(元)", "number", {"scale": 1})) == {"A": 1280.5}
    assert payload(Row("A", "报销总额(元)", "number", {"scale": 0})) == {"A": 1281}
    assert payload(Row("A", "报销总额(元)", "number", {"as_text": True})) == {"A": "1280.50"}
    assert "不是数字" in only_error(Row("A", "报销事由", "number")) or "not a number" in only_error(
        Row("A", "报销事由", "number"))
    assert mapping.parse_decimal(" ¥1,000.50 ") == Decimal("1000.50")


def test_a_non_positive_amount_is_refused_when_positive_is_asked():
    message = only_error(Row("A", "v", "number", {"positive": True}), record={"v": "-3"})
    assert "A" in message and "-3" in message


def test_templates_fill_instance_fields_form_labels_and_row_columns():
    assert payload(Row("FREMARK", "", "template", {"template": "{title} {business_id} {报销事由}"})) == {
        "FREMARK": "张伟提交的费用报销 202605011200000001 上海出差"}
    result = payload(Row("E[].C", "", "template", {"template": "{费用明细}（{报销事由}）"}),
                     Row("E[].A", "报销明细[].报销金额(元)", "number"))
    assert [entry["C"] for entry in result["E"]] == ["差旅费（上海出差）", "交通费（上海出差）"]


def test_regex_validates_or_extracts():
    assert payload(Row("A", "business_id", "regex", {"pattern": r"\d{18}"})) == {"A": "202605011200000001"}
    assert payload(Row("A", "title", "regex", {"pattern": r"^(.+?)提交", "mode": "extract", "group": 1})) == {
        "A": "张伟"}
    assert "does not match" in only_error(Row("A", "title", "regex", {"pattern": r"\d+"}))


def test_required_rows_fail_when_empty_and_defaults_fill_in():
    assert "required" in only_error(Row("A", "附件", required=True))
    assert payload(Row("A", "附件", default="无")) == {"A": "无"}
    assert payload(Row("A", "附件")) == {}


def test_one_bad_row_does_not_stop_the_others():
    result = build_payload([Row("A", "报销事由", "number"), Row("B", "报销事由")], CLAIM, LOOKUPS)
    assert result.payload == {"B": "上海出差"}
    assert [cell.target for cell in result.errors] == ["A"]


def test_an_empty_detail_table_is_an_error_of_the_entry():
    record = {**CLAIM, "form": {**CLAIM["form"], "报销明细": []}}
    message = only_error(Row("FPAYBILLENTRY[].FPAYTOTALAMOUNTFOR", "报销明细[].报销金额(元)", "number"), record=record)
    assert "FPAYBILLENTRY" in message and "报销明细" in message


@pytest.mark.parametrize(
    "row, field",
    [
        (Row("FDATE", "finish_time", "constant"), "params"),
        (Row("FDATE", "finish_time", "value_map"), "params"),
        (Row("FDATE", "finish_time", "number", {"scale": "two"}), "params"),
        (Row("FDATE", "finish_time", "regex", {"pattern": "("}), "params"),
        (Row("FDATE", "finish_time", "copy", {"colour": "red"}), "params"),
        (Row("FDATE", "", "copy"), "source"),
        (Row("FDATE", "报销明细[].费用明细"), "target"),
        (Row("F[][]", "x"), "target"),
        (Row("FDATE", "x", "nonsense"), "transform"),
    ],
)
def test_row_settings_are_checked(row, field):
    assert field in [name for name, _problem in check_row(row)]


def test_a_good_row_has_no_problems():
    assert check_row(Row("FPAYBILLENTRY[].FCOSTID", "报销明细[].费用明细", "value_map", {"map": "m", "wrap": "FNumber"})) == []


def test_entries_must_come_from_one_table_and_targets_be_unique():
    problems = check_rows([Row("E[].A", "T1[].x"), Row("E[].B", "T2[].y"), Row("C", "x"), Row("C", "y")])
    assert len(problems) == 2


def test_every_transform_has_a_label_for_the_admin():
    assert {name for name, _label in mapping.transform_choices()} == {
        "copy", "constant", "value_map", "identity", "identity_reverse", "date", "number", "attachments", "basedata",
        "template", "regex"}
    assert payload(Row("FCURRENCYID", "", "constant", {"value": "PRE001", "wrap": "FNumber"})) == {
        "FCURRENCYID": {"FNumber": "PRE001"}}
    assert payload(Row("X", "originator_dept_id", "basedata", {"key": "FNUMBER"})) == {"X": {"FNUMBER": "582976341"}}


@pytest.mark.parametrize("targets", [
    ("FREMARK", "FREMARK.X"), ("FREMARK.X", "FREMARK"), ("fremark", "FREMARK"),
    ("FPAYBILLENTRY", "FPAYBILLENTRY[].FCOSTID"), ("E[].A", "E[].A.FNumber"),
])
def test_targets_that_would_collide_are_refused(targets):
    problems = check_rows([Row(target, "title") for target in targets])
    assert len(problems) == 1
    assert targets[0] in str(problems[0]) and targets[1] in str(problems[0])


def test_targets_side_by_side_do_not_collide():
    assert check_rows([Row("FREMARK", "title"), Row("FREMARKS", "title"), Row("FSETTLEORGID.FNumber", "title"),
                       Row("FPAYORGID.FNumber", "title")]) == []


@pytest.mark.parametrize("targets", [("FREMARK", "FREMARK.X"), ("FREMARK.X", "FREMARK"),
                                     ("FPAYBILLENTRY", "FPAYBILLENTRY[].FCOMMENT")])
def test_a_row_that_cannot_be_set_fails_its_record_with_the_field_named(targets):
    rows = [Row(target, "报销明细[].备注说明" if "[]" in target else "title") for target in targets]
    result = build_payload(rows, CLAIM)
    assert not result.ok
    reason = result.errors[0].render_error()
    assert "FREMARK" in reason or "FPAYBILLENTRY" in reason


def test_every_transform_declares_its_parameters_for_the_form():
    for transform in mapping.TRANSFORMS.values():
        assert "wrap" in transform.all_params
        for param in transform.all_params.values():
            assert param.label and param.type in (str, int, bool)
