import io

import openpyxl
import pytest

from integrations.models import Connection
from sso.identity_file import COLUMNS
from sso.models import IdentityMap, KingdeeSSOSettings

HEADERS = list(COLUMNS)
KINGDEE_BASE = "http://k3.example.com/k3cloud/"
CORP_ID = "dingcorp0001"


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    """Tests share one client address; the limiter's own tests set a tight limit and their own address."""
    settings.SSO_RATE_LIMIT = (100000, 60)


@pytest.fixture
def dingtalk_connection(db):
    return Connection.objects.create(
        name="钉钉应用", kind="dingtalk", base_url="https://oapi.dingtalk.com/", api_base_url="https://api.dingtalk.com/",
        app_key="dingappkey0001", app_secret="ding-app-secret-0001", corp_id=CORP_ID,
    )


@pytest.fixture
def kingdee_connection(db):
    return Connection.objects.create(
        name="金蝶云星空", kind="kingdee", base_url=KINGDEE_BASE, acct_id="62f3c9b0aa1b2c", username="api",
        app_id="230001_K3simAppSecretTestVector00000001", app_secret="kingdee-webapi-secret",
    )


@pytest.fixture
def sso_settings(dingtalk_connection, kingdee_connection):
    return KingdeeSSOSettings.objects.create(
        kingdee=kingdee_connection, dingtalk=dingtalk_connection, app_id="230001_K3simSsoApp",
        app_secret="0123456789abcdef0123456789abcdef", dbid="62f3c9b0aa1b2c", allowed_forms="AP_PAYBILL:list",
    )


@pytest.fixture
def mapped(dingtalk_connection):
    return IdentityMap.objects.create(dingtalk=dingtalk_connection, dingtalk_userid="user001", name="张三", mobile="13800138000",
                                      kingdee_username="张三", kingdee_staff_number="000123")


def xlsx_bytes(rows, headers=HEADERS):
    """A real workbook; cell types are kept, so a test can put a number where Excel would."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig"):
    lines = [",".join(headers)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)
