"""The pages name the right key per source kind: the preview asks a Yida scheme for a form instance id and an
attendance scheme for an employee-month, never for a DingTalk approval instance; the template chooser asks an
approval template for its process code and a Yida template for its formUuid, and uses the one it was given."""

import pytest
from django.urls import reverse

from integrations.models import Scheme
from tests.yida.conftest import ATTENDANCE, TEMPLATES

pytestmark = pytest.mark.django_db(transaction=True)


def help_of(admin_client, scheme):
    page = admin_client.get(reverse("admin:integrations_scheme_preview", args=[scheme.pk]))
    assert page.status_code == 200
    return page.content.decode()


def test_the_preview_help_names_the_key_of_the_schemes_source(admin_client, world):
    yida = help_of(admin_client, world.yida_scheme("sale"))
    attendance = help_of(admin_client, world.scheme(ATTENDANCE))

    assert "宜搭表单实例 ID（FINST-…）" in yida and "钉钉审批实例" not in yida
    assert "员工与考勤月份：userid@YYYY-MM" in attendance and "钉钉审批实例" not in attendance


def test_the_template_chooser_asks_each_kind_for_its_own_source_id(admin_client, world):
    url = reverse("admin:integrations_scheme_from_template")
    page = admin_client.get(url).content.decode()
    assert 'data-source-kind="dingtalk.approval"' in page and "审批模板（processCode）" in page
    assert 'data-source-kind="dingtalk.yida"' in page and "宜搭表单（formUuid）" in page
    assert 'data-source-kind="dingtalk.attendance"' in page

    form_uuid = world.credentials["yida"]["forms"]["receipt"]
    common = {"source_connection": world.dingtalk.pk, "target_connection": world.kingdee.pk,
              "process_code": "PROC-IGNORED-FOR-YIDA"}
    refused = admin_client.post(url, {**common, "template": TEMPLATES["receipt"], "name": "宜搭入库",
                                      "form_uuid": "not-a-form"})
    assert refused.status_code == 200 and "宜搭表单 ID 以 FORM- 开头" in refused.content.decode()
    created = admin_client.post(url, {**common, "template": TEMPLATES["receipt"], "name": "宜搭入库",
                                      "form_uuid": form_uuid})
    assert created.status_code == 302
    scheme = Scheme.objects.get(name="宜搭入库")
    assert scheme.source_params["form_uuid"] == form_uuid and "process_code" not in scheme.source_params
