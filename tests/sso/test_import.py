"""Identity-map import end to end: upload, check in the worker, confirm, apply in the worker."""

import io

import openpyxl
import pytest
from django.urls import reverse

from sso.identity_import import check
from sso.models import IdentityImport, IdentityMap
from sso.resources import IdentityMapResource
from sso.tasks import apply_identity_import, check_identity_import
from tests.sso.conftest import HEADERS, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

GOOD = [
    ["user001", "张三", "13800138000", "张三", "000123", "是"],
    ["user002", "李四", "13800138001", "李四", "000124", "否"],
    ["0456", "王五", "", "wangwu", "A-9", ""],
]


def run(content, name="map.xlsx"):
    job = IdentityImport.objects.create(file_name=name, content=content)
    check_identity_import(job.pk)
    job.refresh_from_db()
    if job.status == IdentityImport.Status.READY:
        IdentityImport.objects.filter(pk=job.pk).update(status=IdentityImport.Status.QUEUED)
        apply_identity_import(job.pk)
        job.refresh_from_db()
    return job


def snapshot():
    return list(IdentityMap.objects.order_by("dingtalk_userid").values_list(
        "dingtalk_userid", "name", "mobile", "kingdee_username", "kingdee_staff_number", "active", "updated_at"))


def test_a_valid_workbook_is_imported_with_leading_zeros_and_flags_intact():
    job = run(xlsx_bytes(GOOD))
    assert (job.status, job.total_rows, job.new_rows, job.processed_rows) == ("done", 3, 3, 3)
    wangwu = IdentityMap.objects.get(dingtalk_userid="0456")
    assert (wangwu.kingdee_staff_number, wangwu.active, wangwu.mobile) == ("A-9", True, "")
    assert IdentityMap.objects.get(dingtalk_userid="user002").active is False
    assert IdentityMap.objects.get(dingtalk_userid="user001").kingdee_staff_number == "000123"
    assert bytes(job.content) == b""  # the file is not kept once imported


def test_reimporting_the_same_file_changes_nothing():
    run(xlsx_bytes(GOOD))
    before = snapshot()
    job = run(xlsx_bytes(GOOD))
    assert (job.status, job.new_rows, job.changed_rows, job.unchanged_rows) == ("done", 0, 0, 3)
    assert snapshot() == before


def test_a_workbook_with_bad_rows_imports_nothing_and_lists_each_bad_row():
    IdentityMap.objects.create(dingtalk_userid="user001", name="旧名字")
    rows = GOOD + [[None, "无ID", "", "", "", "是"], ["user009", "九", 13900000000.0, "", "", "是"],
                   ["user001", "重复", "", "", "", "是"], ["user010", "十", "", "", 7, "也许"]]
    job = run(xlsx_bytes(rows))
    assert job.status == "invalid" and job.bad_count == 4
    assert [number for number, _reason in job.bad_rows] == [5, 6, 7, 8]
    assert "也许" in job.bad_rows[3][1] and "7" in job.bad_rows[3][1]
    assert list(IdentityMap.objects.values_list("dingtalk_userid", "name")) == [("user001", "旧名字")]


def test_changed_rows_are_counted_and_updated_with_a_new_timestamp():
    run(xlsx_bytes(GOOD))
    old = IdentityMap.objects.get(dingtalk_userid="user001").updated_at
    job = run(xlsx_bytes([["user001", "张三", "13800138000", "zhangsan", "000123", "否"]] + GOOD[1:]))
    assert (job.new_rows, job.changed_rows, job.unchanged_rows) == (0, 1, 2)
    row = IdentityMap.objects.get(dingtalk_userid="user001")
    assert (row.kingdee_username, row.active) == ("zhangsan", False) and row.updated_at > old


def test_a_partial_file_leaves_other_columns_alone():
    run(xlsx_bytes(GOOD))
    run(xlsx_bytes([["user001", "否"]], headers=["钉钉用户ID", "启用"]))
    row = IdentityMap.objects.get(dingtalk_userid="user001")
    assert (row.name, row.kingdee_username, row.active) == ("张三", "张三", False)


def test_csv_files_import_like_workbooks():
    job = run(csv_bytes(GOOD), "map.csv")
    assert job.status == "done" and IdentityMap.objects.count() == 3


def export(fmt):
    return IdentityMapResource().export().export(fmt)


def test_an_exported_workbook_imports_back_unchanged():
    run(xlsx_bytes(GOOD))
    before = snapshot()
    content = export("xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [c.value for c in sheet[1]] == ["钉钉用户ID", "姓名", "手机号", "金蝶用户名", "金蝶员工编码", "启用"]
    assert sheet["E3"].value == "000123" and sheet["E3"].data_type == "s"
    job = run(content)
    assert (job.status, job.new_rows, job.changed_rows, job.unchanged_rows) == ("done", 0, 0, 3)
    assert snapshot() == before


def test_an_exported_csv_imports_back_unchanged():
    run(xlsx_bytes(GOOD))
    before = snapshot()
    job = run(export("csv").encode("utf-8-sig"), "map.csv")
    assert (job.status, job.unchanged_rows) == ("done", 3)
    assert snapshot() == before


def test_checking_does_not_write_the_map():
    job = IdentityImport.objects.create(file_name="map.xlsx", content=xlsx_bytes(GOOD))
    check(job)
    assert job.status == "ready" and IdentityMap.objects.count() == 0


def test_a_failed_import_can_be_run_again_from_its_page(client, it_admin, q_sync, django_capture_on_commit_callbacks):
    job = IdentityImport.objects.create(file_name="map.xlsx", content=xlsx_bytes(GOOD))
    check_identity_import(job.pk)
    IdentityImport.objects.filter(pk=job.pk).update(status=IdentityImport.Status.FAILED, error="worker killed")
    client.force_login(it_admin)
    url = reverse("admin:sso_identitymap_import_status", args=[job.pk])
    assert "confirm-import" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    job.refresh_from_db()
    assert job.status == "done" and IdentityMap.objects.count() == 3


def test_an_import_that_is_not_queued_is_not_applied():
    job = IdentityImport.objects.create(file_name="map.xlsx", content=xlsx_bytes(GOOD), status="ready")
    assert "not queued" in apply_identity_import(job.pk)
    assert IdentityMap.objects.count() == 0


@pytest.fixture
def it_admin(django_user_model):
    from django.contrib.auth.models import Group

    from portal.roles import IT_ADMIN, sync_roles

    sync_roles()
    user = django_user_model.objects.create_user("it", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=IT_ADMIN))
    return user


def test_the_admin_pages_upload_preview_confirm_and_show_progress(client, it_admin, q_sync, dingtalk_connection,
                                                                    django_capture_on_commit_callbacks):
    client.force_login(it_admin)
    upload = io.BytesIO(xlsx_bytes(GOOD))
    upload.name = "身份映射.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:sso_identitymap_import"), {"file": upload})
    job = IdentityImport.objects.get()
    assert response.status_code == 302 and job.status == "ready"
    page = client.get(response["Location"]).content.decode()
    assert 'id="confirm-import"' in page and "新增" in page  # counts, and the rows that change
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"])
    job.refresh_from_db()
    assert job.status == "done" and IdentityMap.objects.count() == 3
    assert 'id="import-progress" value="3" max="3"' in client.get(response["Location"]).content.decode()


def test_the_preview_lists_bad_rows_and_offers_no_confirm(client, it_admin, q_sync, dingtalk_connection,
                                                          django_capture_on_commit_callbacks):
    client.force_login(it_admin)
    upload = io.BytesIO(xlsx_bytes(GOOD + [["user001", "重复", "", "", "", "是"]]))
    upload.name = "map.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:sso_identitymap_import"), {"file": upload})
    page = client.get(response["Location"]).content.decode()
    assert 'id="bad-rows"' in page and "<td>5</td>" in page and "confirm-import" not in page
    assert client.post(response["Location"]).status_code == 302
    assert IdentityMap.objects.count() == 0


@pytest.mark.parametrize("fmt, name", [(0, "map.xlsx"), (1, "map.csv")])
def test_the_admin_export_downloads_a_file_that_imports_back_unchanged(client, it_admin, fmt, name):
    run(xlsx_bytes(GOOD))
    before = snapshot()
    client.force_login(it_admin)
    response = client.post(reverse("admin:sso_identitymap_export"), {"format": fmt, "resource": 0})
    assert response.status_code == 200 and name.rsplit(".", 1)[1] in response["Content-Disposition"]
    job = run(b"".join(response.streaming_content) if response.streaming else response.content, name)
    assert (job.status, job.unchanged_rows, job.new_rows, job.changed_rows) == ("done", 3, 0, 0)
    assert snapshot() == before


def test_the_preview_lists_which_rows_change_and_how_field_by_field(client, it_admin):
    run(xlsx_bytes(GOOD))
    job = IdentityImport.objects.create(file_name="map.xlsx", content=xlsx_bytes(
        [["user001", "张三", "13800138000", "zhangsan", "000123", "否"], GOOD[1],
         ["user003", "赵六", "13800138009", "zhaoliu", "000200", "是"]], headers=HEADERS))
    check_identity_import(job.pk)
    job.refresh_from_db()
    assert job.changes == [
        {"row": 2, "userid": "user001", "name": "张三", "new": False,
         "fields": [["金蝶用户名", "张三", "zhangsan"], ["启用", "是", "否"]]},
        {"row": 4, "userid": "user003", "name": "赵六", "new": True,
         "fields": [["姓名", "", "赵六"], ["手机号", "", "13800138009"], ["金蝶用户名", "", "zhaoliu"],
                    ["金蝶员工编码", "", "000200"], ["启用", "", "是"]]},
    ]
    client.force_login(it_admin)
    page = client.get(reverse("admin:sso_identitymap_import_status", args=[job.pk])).content.decode()
    assert "导入将做的更改" in page and "<del>张三</del> → <ins>zhangsan</ins>" in page
    assert "<del>是</del> → <ins>否</ins>" in page and "赵六" in page and "user002" not in page
