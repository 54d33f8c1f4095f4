import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import sync_playwright

from integrations.models import Connection
from sso.models import IdentityImport
from sso.tasks import check_identity_import
from tests.sso.conftest import xlsx_bytes
from tests.sso.test_import import it_admin  # noqa

pytestmark = pytest.mark.django_db(transaction=True)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]


def test_shots(live_server, it_admin):
    Connection.objects.create(name="总部钉钉", kind="dingtalk", base_url="http://127.0.0.1:9/", app_key="a",
                              app_secret="s", corp_id="c")
    Connection.objects.create(name="子公司钉钉", kind="dingtalk", base_url="http://127.0.0.1:9/", app_key="b",
                              app_secret="s", corp_id="d")
    job = IdentityImport.objects.create(file_name="花名册.xlsx", dingtalk=Connection.objects.first(), content=xlsx_bytes([
        ["ｍａｎａｇｅｒ０１", "张三", "138\u00a00013\u200b8000", "zhangsan", "000123", "是"],
        ["user002", "李四", "13800138001", "lisi", "000124", "否"],
        ["user003", "王五", "13800138002", "wangwu\u200b", "000125", "是"],
    ]))
    check_identity_import(job.pk)
    client = Client()
    client.force_login(it_admin)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for w, h, tag in ((1366, 768, "desktop"),):
            ctx = browser.new_context(locale="zh-CN", viewport={"width": w, "height": h})
            ctx.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
            page = ctx.new_page()
            page.goto(f"{live_server.url}/admin/sso/identitymap/import/")
            page.screenshot(path=f"/tmp/input_shots/import_{tag}.png", full_page=True)
            page.goto(f"{live_server.url}/admin/sso/identitymap/import/{job.pk}/")
            page.screenshot(path=f"/tmp/input_shots/status_{tag}.png", full_page=True)
            page.goto(f"{live_server.url}/admin/sso/identitymap/")
            page.screenshot(path=f"/tmp/input_shots/list_{tag}.png", full_page=True)
        browser.close()
