"""README's “The demo in five minutes” names menus, buttons and pages: each name is in the tour's text and on the
page the tour sends the reader to, as the admin and as finance see them (after the demo's own setup)."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from integrations.models import Scheme
from portal.roles import FINANCE, sync_roles

pytestmark = pytest.mark.django_db

README = (Path(settings.BASE_DIR) / "README.md").read_text()
TOUR = re.search(r"### The demo in five minutes\n(.*?)\n## ", README, re.S).group(1)

ADMIN_PAGES = {
    "/admin/": ["集成", "集成方案", "同步运行", "同步记录", "沙箱：金蝶", "沙箱：钉钉", "审批实例", "日常工作", "待复核记录",
                "运行概览"],
    "/admin/integrations/scheme/": ["钉钉费用报销审批 → 金蝶付款单"],
    "/admin/sandbox_dingtalk/approvalinstance/": ["同意所选的审批中单据"],
    "/admin/integrations/syncrun/": ["运行概览"],  # the dashboard, linked from 同步运行
    "/admin/integrations/syncrun/dashboard/": ["运行概览"],
    "/sandbox/dingtalk/client/": ["⚠"],
}
FINANCE_PAGES = {
    "/admin/": ["待复核记录", "运行概览", "同步记录", "同步运行"],
    "/admin/integrations/reviewrecord/": ["待复核记录"],
}
FINANCE_REFUSED = ["/admin/integrations/scheme/", "/admin/integrations/valuemap/", "/admin/integrations/connection/"]


@pytest.fixture
def demo_data():
    call_command("demo_setup", base_url="http://127.0.0.1:8000", stdout=io.StringIO())
    sync_roles()


def test_every_name_the_tour_gives_is_in_its_text():
    for label in {label for pages in (ADMIN_PAGES, FINANCE_PAGES) for labels in pages.values() for label in labels}:
        assert label in TOUR, label
    assert "无权访问" in TOUR and "/admin/integrations/syncrun/dashboard/" in TOUR


def test_the_admin_finds_each_name_where_the_tour_says(client, demo_data):
    client.force_login(User.objects.create_superuser("admin"))
    for path, labels in ADMIN_PAGES.items():
        page = client.get(path, follow=True)
        assert page.status_code == 200, path
        text = page.content.decode()
        assert [label for label in labels if label not in text] == [], path
    scheme = Scheme.objects.get(name="钉钉费用报销审批 → 金蝶付款单")
    text = client.get(f"/admin/integrations/scheme/{scheme.pk}/change/").content.decode()
    assert "字段映射" in text and "值映射" in text  # “its mapping rows and value maps”
    assert "JSON（高级）" in text and "JSON（高级）" in TOUR and "版本历史" in text and "版本历史" in TOUR


def test_finance_finds_its_pages_and_is_refused_the_others(client, demo_data):
    finance = User.objects.create_user("finance", is_staff=True)
    finance.groups.add(Group.objects.get(name=FINANCE))
    client.force_login(finance)
    for path, labels in FINANCE_PAGES.items():
        text = client.get(path).content.decode()
        assert [label for label in labels if label not in text] == [], path
    for path in FINANCE_REFUSED:
        page = client.get(path)
        assert page.status_code == 403 and "无权访问" in page.content.decode(), path
