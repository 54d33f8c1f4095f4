"""Reasons are data: the ledger keeps a code and its parameters, pages render them for the reader with names."""

import os
import re

import pytest
from playwright.sync_api import expect

from integrations import engine, reasons
from integrations.models import SyncRecord
from sso.models import IdentityMap
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent
from tests.ops.conftest import scheme, committed  # noqa: F401  (shared fixtures; finance_user is in tests/conftest.py)
from tests.ops.test_browser import SCREENSHOTS, browser, open_as  # noqa: F401

USERID = "012345678901234567"  # DingTalk user ids are long digit strings nobody can read


@pytest.fixture
def failures(scheme, remote):  # noqa: F811
    IdentityMap.objects.create(dingtalk_userid=USERID, name="王芳", kingdee_username="wangfang")  # no staff number
    remote.dingtalk.add(claim("unmapped", userid=USERID, created=recent(3)),
                        claim("refused", result="refuse", created=recent(2)))
    engine.run_scheme(scheme.pk)
    return scheme


@pytest.mark.django_db
def test_the_ledger_keeps_codes_and_parameters_not_translated_text(failures):
    unmapped = SyncRecord.objects.get(source_key="unmapped")
    refused = SyncRecord.objects.get(source_key="refused")

    assert refused.reason_code == "refused" and refused.error == "Refused in DingTalk."
    assert unmapped.reason_code == "mapping"
    [cell] = [cell for cell in unmapped.reason_params["cells"] if cell["target"] == "FCONTACTUNIT"]
    assert cell["source"] == "originator_userid" and cell["value"] == USERID and cell["params"]["userid"] == USERID
    assert not re.search(r"[\u4e00-\u9fff]", unmapped.error + refused.error)  # nothing translated was stored


@pytest.mark.django_db
def test_a_reason_renders_in_the_readers_language_with_the_persons_name(failures):
    from django.utils import translation

    unmapped = SyncRecord.objects.get(source_key="unmapped")
    with translation.override("zh-hans"):
        chinese = reasons.describe(unmapped, {USERID: "王芳"})
    with translation.override("en"):
        english = reasons.describe(unmapped, {USERID: "王芳"})

    assert "王芳" in chinese and USERID not in chinese and "身份映射" in chinese
    assert "identity map" in english


def test_an_old_record_with_only_its_text_still_reads(db):
    assert reasons.describe(SyncRecord(error="金蝶暂时无法连接")) == "金蝶暂时无法连接"


@pytest.mark.django_db(transaction=True)
def test_finance_reads_chinese_reasons_naming_people_in_the_review_list(open_as, live_server, failures,  # noqa: F811
                                                                         finance_user):  # noqa: F811
    page = open_as(finance_user)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/admin/integrations/reviewrecord/?review=all")  # refusals are routine skips

    rows = page.locator("#result_list")
    expect(rows).to_contain_text("王芳")
    expect(rows).to_contain_text("钉钉审批被拒绝")
    text = rows.inner_text()
    assert USERID not in text
    assert not re.search(r"\b(Refused|Field|DingTalk user|identity map)\b", text)
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "review-reasons.png"), full_page=True)

    page.click("text=张伟提交的费用报销 unmapped")
    reason = page.locator(".review-reason")
    expect(reason).to_contain_text("王芳")
    expect(reason).to_contain_text("身份映射")
    assert USERID not in reason.inner_text()
