"""Spreadsheets as HR really sends them: merged cells, invisible characters, formulas, blank lines."""

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from sso import identity_file, identity_import
from sso.identity_file import UnreadableFile
from sso.models import IdentityImport, IdentityMap
from sso.resources import IdentityMapResource, SafeCSV, SafeXLSX
from sso.tasks import apply_identity_import, check_identity_import
from tests.input import hostile_files
from tests.sso.conftest import HEADERS, csv_bytes, xlsx_bytes
from tests.sso.test_import import it_admin  # noqa: F401  (fixture)


def workbook(rows, merge=(), formulas=None):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(list(row))
    for cell, formula in (formulas or {}).items():
        sheet[cell] = formula
    for cells in merge:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def read(content, name="map.xlsx"):
    return identity_file.read(content, name)


def test_a_flag_merged_over_several_rows_counts_on_every_row_it_covers():
    content = workbook([["u1", "甲", "", "甲", "", "否"], ["u2", "乙", "", "乙", "", None],
                        ["u3", "丙", "", "丙", "", None], ["u4", "丁", "", "丁", "", "是"]], merge=["F2:F4"])

    checked = read(content)

    assert [(number, row["启用"]) for number, row in checked.rows] == [(2, False), (3, False), (4, False), (5, True)]


def test_a_merged_name_reads_on_every_row_but_blank_rows_below_stay_blank():
    content = workbook([["u1", "张三", "", "", "", ""], ["u2", None, "", "", "", ""], [None] * 6],
                       merge=["B2:B4"])

    checked = read(content)

    assert [row["姓名"] for _n, row in checked.rows] == ["张三", "张三"]
    assert checked.bad_rows == []


@pytest.mark.parametrize("merged", ["E2:F3", "A1:A3"])
def test_cells_merged_across_columns_or_with_the_header_are_refused_naming_the_range(merged):
    content = workbook([["u1", "甲", "", "甲", "", "是"], ["u2", "乙", "", "乙", "", "是"]], merge=[merged])

    with pytest.raises(UnreadableFile) as refused:
        read(content)

    assert merged in str(refused.value)


def test_full_width_zero_width_and_no_break_characters_are_normalised_and_listed():
    content = workbook([["ｕｓｅｒ００１", "张三", "138\u00a00013\u200b8000", "zhang\u200bsan", "\ufeff000123", "是"]])

    checked = read(content)

    assert checked.rows[0][1] == {"钉钉用户ID": "user001", "姓名": "张三", "手机号": "13800138000",
                                  "金蝶用户名": "zhangsan", "金蝶员工编码": "000123", "启用": True}
    [(number, changes)] = checked.normalised
    assert number == 2
    assert "ｕｓｅｒ００１" in changes and "user001" in changes
    assert "⟨U+200B⟩" in changes and "⟨U+00A0⟩" in changes and "⟨U+FEFF⟩" in changes


def test_two_ids_that_differ_only_in_invisible_characters_are_the_same_id():
    checked = read(workbook([["u1\u200b", "甲", "", "", "", ""], ["u1", "乙", "", "", "", ""]]))

    assert checked.bad_rows and checked.bad_rows[0][0] == 3


def test_a_formula_without_its_calculated_value_is_refused_naming_the_cell():
    content = workbook([["u1", "甲", "", "甲", "", "是"]], formulas={"B2": '=CONCAT("张","三")'})

    checked = read(content)

    [(number, reason)] = checked.bad_rows
    assert number == 2 and "B2" in reason and "姓名" in reason


def test_a_formula_with_its_calculated_value_reads_as_that_value():
    row = ('<row r="2"><c r="A2" t="str"><f>LOWER("U1")</f><v>u1</v></c><c r="B2" t="inlineStr"><is><t>甲</t></is>'
           '</c></row>')

    checked = read(hostile_files.workbook(hostile_files.sheet_xml(row)))

    assert checked.rows == [(2, {"钉钉用户ID": "u1", "姓名": "甲", "启用": True})]


def test_a_cell_showing_an_error_is_refused_naming_the_cell():
    row = '<row r="2"><c r="A2" t="inlineStr"><is><t>u1</t></is></c><c r="B2" t="e"><f>VLOOKUP(1,X,2)</f><v>#N/A</v></c></row>'

    checked = read(hostile_files.workbook(hostile_files.sheet_xml(row)))

    assert "B2" in checked.bad_rows[0][1] and "#N/A" in checked.bad_rows[0][1]


def test_csv_row_numbers_count_blank_lines_and_quoted_line_breaks_as_excel_shows_them():
    text = ("钉钉用户ID,姓名,启用\r\n"
            "u1,甲,是\r\n"
            "\r\n"
            "u2,\"乙\n(借调)\",是\r\n"
            "\r\n"
            "u3,丙,maybe\r\n")

    checked = read(text.encode("utf-8"), "map.csv")

    assert [number for number, _row in checked.rows] == [2, 4]
    assert checked.bad_rows[0][0] == 6


def test_xlsx_rows_keep_their_own_numbers_after_empty_rows():
    checked = read(workbook([["u1", "甲", "", "", "", ""], [None] * 6, [None] * 6, ["u2", "乙", "", "", "", "x"]]))

    assert checked.bad_rows[0][0] == 5


# ---- exports ------------------------------------------------------------------------------------

HOSTILE_TEXTS = ["=1+1", "+8613800138000", "-5", "@SUM(A1)", "\tx", "\rx"]


@pytest.fixture
def hostile_rows(db):
    """Text a DingTalk profile may hold (imports strip leading tabs and line breaks; the map may still have them)."""
    for number, text in enumerate(HOSTILE_TEXTS):
        IdentityMap.objects.create(dingtalk_userid=f"u{number}", name=text, kingdee_username=text)
    return IdentityMap.objects.count()


def test_a_csv_export_neutralises_every_formula_leading_character(hostile_rows):
    text = SafeCSV().export_data(IdentityMapResource().export())

    rows = list(csv.reader(io.StringIO(text)))
    names = [row[1] for row in rows[1:]]
    assert sorted(names) == sorted(f"'{value}" for value in HOSTILE_TEXTS)


def test_an_xlsx_export_writes_formula_like_text_as_text(hostile_rows):
    content = SafeXLSX().export_data(IdentityMapResource().export())

    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert {sheet.cell(row, 2).data_type for row in range(2, sheet.max_row + 1)} == {"s"}
    assert "=1+1" in [sheet.cell(row, 2).value for row in range(2, sheet.max_row + 1)]


def run(content, name):
    job = IdentityImport.objects.create(file_name=name, content=content)
    check_identity_import(job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(("fmt", "name"), [(0, "map.xlsx"), (1, "map.csv")])
def test_an_unchanged_export_reimports_with_zero_changes(client, it_admin, hostile_rows, fmt, name):
    IdentityMap.objects.filter(name__in=["\tx", "\rx"]).delete()  # an import strips these: they never come from one
    IdentityMap.objects.create(dingtalk_userid="u9", name="停用的人", mobile="+86 138 0013 8000", active=False)
    client.force_login(it_admin)
    response = client.post(reverse("admin:sso_identitymap_export"), {"format": fmt, "resource": 0})
    content = b"".join(response.streaming_content) if response.streaming else response.content

    job = run(content, name)

    assert (job.status, job.new_rows, job.changed_rows, job.bad_count) == ("ready", 0, 0, 0), job.bad_rows
    assert job.unchanged_rows == hostile_rows - 1


# ---- the preview and a worker that died ---------------------------------------------------------


def test_the_preview_shows_what_normalising_changed(client, it_admin, db):
    job = run(xlsx_bytes([["ｕ１", "甲", "", "", "", "是"]]), "map.xlsx")
    client.force_login(it_admin)

    page = client.get(reverse("admin:sso_identitymap_import_status", args=[job.pk])).content.decode()

    assert 'id="normalised-rows"' in page and "ｕ１" in page and "读取时的更正" in page


def test_a_check_whose_worker_died_is_failed_with_what_to_do_not_left_checking(client, it_admin, db):
    job = IdentityImport.objects.create(file_name="map.xlsx", content=xlsx_bytes([["u1", "甲"]]))
    IdentityImport.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    client.force_login(it_admin)

    page = client.get(reverse("admin:sso_identitymap_import_status", args=[job.pk])).content.decode()

    job.refresh_from_db()
    assert job.status == IdentityImport.Status.FAILED
    assert "重新上传" in job.error and job.error in page


def test_a_check_that_is_merely_slow_is_left_alone(db):
    job = IdentityImport.objects.create(file_name="map.xlsx", content=xlsx_bytes([["u1", "甲"]]))
    IdentityImport.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=11),
                                                    heartbeat_at=timezone.now())

    assert identity_import.recover_stalled() == 0


def test_an_import_whose_worker_died_can_be_confirmed_again_and_finishes(client, it_admin, db,
                                                                        django_capture_on_commit_callbacks, q_sync):
    job = run(xlsx_bytes([["u1", "甲", "", "", "", "是"], ["u2", "乙", "", "", "", "是"]]), "map.xlsx")
    stale = timezone.now() - timedelta(minutes=6)
    IdentityImport.objects.filter(pk=job.pk).update(status=IdentityImport.Status.IMPORTING, heartbeat_at=stale,
                                                    created_at=stale)
    client.force_login(it_admin)
    url = reverse("admin:sso_identitymap_import_status", args=[job.pk])

    assert "confirm-import" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)

    job.refresh_from_db()
    assert job.status == IdentityImport.Status.DONE and IdentityMap.objects.count() == 2


def test_an_apply_that_is_redelivered_after_a_crash_does_not_run_twice(db):
    job = run(xlsx_bytes([["u1", "甲", "", "", "", "是"]]), "map.xlsx")
    IdentityImport.objects.filter(pk=job.pk).update(status=IdentityImport.Status.IMPORTING)

    assert "not queued" in apply_identity_import(job.pk)
