"""Finance's pages with claims waiting for a closed period and a reconciliation difference, in Chromium at
1366×768: all Chinese, nothing sideways. Screenshots go to UI_SCREENSHOTS (a folder) when it is set."""

import os

import pytest

from integrations import engine
from integrations.models import SyncRecord
from portal.roles import FINANCE
from sandbox.kingdee.models import FormRecord
from tests.accounting.helpers import close_period, month_to_close
from tests.integrations.live import build_world, faultless, shape_claims
from tests.ui.test_tour import browser, logged_in, member, walk  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = os.environ.get("UI_SCREENSHOTS")


@pytest.fixture
def world(live_server):
    with faultless(live_server.url) as url:
        scheme = build_world(url, instances=60)
        shaped = shape_claims(approved=30, refused=2)
        close_period(url, "AP", month_to_close(shaped["approved"]))
        try:
            engine.run_scheme(scheme.pk)
        finally:
            close_period(url, "AP", "")
        booked = SyncRecord.objects.filter(scheme=scheme, status=SyncRecord.Status.SUCCEEDED).first()
        assert booked, list(SyncRecord.objects.filter(scheme=scheme).values_list("status", "error"))[:8]
        FormRecord.objects.filter(form_id="AP_PAYBILL", fid=int(booked.target_id)).delete()
        yield scheme


def test_waiting_for_period_and_reconciliation_pages_read_chinese_and_fit(browser, live_server, world):  # noqa: F811
    scheme = world
    assert SyncRecord.objects.filter(scheme=scheme, status=SyncRecord.Status.PERIOD).exists()
    pages = ["/admin/integrations/reviewrecord/?review=period", "/admin/integrations/syncrun/dashboard/",
             f"/admin/integrations/reviewrecord/reconciliation/?scheme={scheme.pk}&days=60"]
    finance = member(FINANCE, "finance-periods")
    assert walk(browser, live_server, finance, pages) == {}

    context = logged_in(browser, live_server, finance)
    page = context.new_page()
    page.goto(live_server.url + pages[0])
    assert "等待会计期间" in page.content() and "period" not in page.inner_text("#period-waits")
    page.goto(live_server.url + pages[2])
    text = page.inner_text("#content-main")
    assert "金蝶中没有" in text and "造成差额的单据" in text
    if SCREENSHOTS:
        for name, path in zip(("review-period", "dashboard-period", "reconciliation"), pages):
            page.goto(live_server.url + path)
            page.screenshot(path=os.path.join(SCREENSHOTS, f"vouchers-{name}.png"), full_page=True)
    context.close()
