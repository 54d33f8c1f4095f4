"""Finance reads records, reasons, payloads and answers, bank accounts masked; mappings and connections are IT's."""

import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from integrations import engine
from integrations.models import SyncRecord, ValueMap, ValueMapEntry
from portal.models import SensitiveField
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent

ACCOUNT = "6222000011112222"  # the payee's account in every fake claim


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rejected(scheme, remote):
    """A claim Kingdee refuses (its expense item does not exist there): failed, with the payload it was sent."""
    items = ValueMap.objects.get(scheme=scheme, name="费用明细→金蝶费用项目")
    ValueMapEntry.objects.create(value_map=items, source_value="礼品费", target_value="FYXM99")
    remote.dingtalk.add(claim("gift", created=recent(3), items=(("礼品费", "88"),)))
    engine.run_scheme(scheme.pk)
    record = SyncRecord.objects.get(source_key="gift")
    assert record.status == SyncRecord.Status.FAILED and ACCOUNT in str(record.payload)
    return record


def scheme_urls(scheme):
    value_map = scheme.value_maps.first()
    return [
        reverse("admin:integrations_scheme_changelist"),
        reverse("admin:integrations_scheme_change", args=[scheme.pk]),
        reverse("admin:integrations_scheme_versions", args=[scheme.pk]),
        reverse("admin:integrations_scheme_version", args=[scheme.pk, 1]),
        reverse("admin:integrations_scheme_export", args=[scheme.pk]),
        reverse("admin:integrations_valuemap_change", args=[value_map.pk]),
        reverse("admin:integrations_connection_changelist"),
        reverse("admin:integrations_connection_change", args=[scheme.source_connection_id]),
        reverse("admin:portal_sensitivefield_changelist"),
    ]


def test_finance_gets_403_on_mapping_rows_value_maps_scheme_exports_versions_and_connections(
        finance_user, it_user, scheme):
    finance, it = logged_in(finance_user), logged_in(it_user)
    for url in scheme_urls(scheme):
        response = finance.get(url)
        assert response.status_code == 403, url
        assert "无权访问" in response.content.decode(), url
        assert it.get(url).status_code == 200, url


def test_finance_reads_the_record_with_the_bank_account_masked_and_it_reads_it_whole(finance_user, it_user, rejected):
    url = reverse("admin:integrations_reviewrecord_change", args=[rejected.pk])
    finance_page = logged_in(finance_user).get(url).content.decode()
    assert "在基础资料中不存在" in finance_page and "FYXM99" in finance_page  # reason and payload
    assert ACCOUNT not in finance_page and "****2222" in finance_page
    ledger_page = logged_in(finance_user).get(reverse("admin:integrations_syncrecord_change", args=[rejected.pk]))
    assert ACCOUNT not in ledger_page.content.decode() and "****2222" in ledger_page.content.decode()
    assert ACCOUNT in logged_in(it_user).get(url).content.decode()


def test_a_field_it_marks_sensitive_is_masked_too(finance_user, rejected):
    SensitiveField.objects.create(name="fcostid")  # upper and lower case alike
    page = logged_in(finance_user).get(reverse("admin:integrations_reviewrecord_change", args=[rejected.pk]))
    assert "FYXM99" not in page.content.decode().split("review-data", 1)[1]


def exported_sheet(client):
    url = reverse("admin:integrations_reviewrecord_export")
    form = client.get(url)
    assert form.status_code == 200
    fields = {name: "on" for name in ("reviewrecordresource_payload_text", "reviewrecordresource_reason",
                                       "reviewrecordresource_title", "reviewrecordresource_amount")}
    response = client.post(url, {"format": "0", "resource": "0", "export_items": [], **fields})
    assert response.status_code == 200, response.content[:500]
    book = load_workbook(io.BytesIO(response.content))
    return book.sheetnames, [[cell.value for cell in row] for row in book.active.iter_rows()]


def test_finance_exports_the_review_list_with_chinese_headers_a_named_sheet_and_masked_accounts(
        finance_user, it_user, rejected):
    sheets, rows = exported_sheet(logged_in(finance_user))
    assert sheets == ["待复核记录"]
    text = str(rows)
    assert "发送的报文" in rows[0] and "原因" in rows[0]
    assert "张伟提交的费用报销 gift" in text and "FYXM99" in text
    assert ACCOUNT not in text and "****2222" in text
    assert ACCOUNT in str(exported_sheet(logged_in(it_user))[1])


def test_the_lists_reason_column_is_masked_for_finance_and_whole_for_it(finance_user, it_user, rejected):
    SensitiveField.objects.create(name="fcostid")  # Kingdee's refusal quotes the expense item it did not find
    for list_name in ("reviewrecord", "syncrecord"):
        url = reverse(f"admin:integrations_{list_name}_changelist") + "?review=all"[:0 if list_name == "syncrecord" else None]
        finance_list = logged_in(finance_user).get(url).content.decode()
        rows = finance_list.split('id="result_list"', 1)[1].split("</table>", 1)[0]
        assert "在基础资料中不存在" in rows and "FYXM99" not in rows and "****" in rows, list_name
        assert "FYXM99" in logged_in(it_user).get(url).content.decode().split('id="result_list"', 1)[1], list_name
    # The review list's reason filter: masked, and its link quotes nothing; it still filters.
    finance = logged_in(finance_user)
    page = finance.get(reverse("admin:integrations_reviewrecord_changelist") + "?review=all").content.decode()
    assert "FYXM99" not in page
    [key] = set(re.findall(r"reason=(r[0-9a-f]{16})", page))
    filtered = finance.get(reverse("admin:integrations_reviewrecord_changelist") + f"?review=all&reason={key}")
    assert "张伟提交的费用报销 gift" in filtered.content.decode()


def test_the_dashboards_top_reasons_are_masked_for_finance_and_whole_for_it(finance_user, it_user, rejected):
    SensitiveField.objects.create(name="fcostid")
    url = reverse("admin:integrations_dashboard")
    finance_page = logged_in(finance_user).get(url).content.decode()
    assert "在基础资料中不存在" in finance_page and "FYXM99" not in finance_page and "****" in finance_page
    assert "FYXM99" in logged_in(it_user).get(url).content.decode()
