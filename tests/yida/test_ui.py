"""The new templates' pages in Chromium at 1366×768 as IT: the scheme list, each scheme, its mapping preview of a
real sandbox record, the template chooser and the DingTalk connection with the Yida fields — they fit and show no
English. Set UI_SCREENSHOTS to a folder to keep what each page looked like."""

import pytest

from portal.roles import IT_ADMIN
from tests.ui.test_tour import browser, member, walk  # noqa: F401  (browser is a fixture)
from tests.yida.conftest import ATTENDANCE

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_yida_and_attendance_schemes_and_their_previews_fit_and_speak_chinese(browser, live_server, world):  # noqa: F811
    schemes = [world.yida_scheme(key, scheduled=True) for key in ("sale", "receipt", "transfer")]
    schemes.append(world.scheme(ATTENDANCE, scheduled=True))
    pages = ["/admin/integrations/scheme/", "/admin/integrations/scheme/from-template/",
             f"/admin/integrations/connection/{world.dingtalk.pk}/change/"]
    for scheme in schemes:
        pages += [f"/admin/integrations/scheme/{scheme.pk}/change/", f"/admin/integrations/scheme/{scheme.pk}/preview/?key="]
    pages += ["/admin/sandbox_dingtalk/yidainstance/", "/admin/sandbox_dingtalk/attendancecorrection/"]

    assert walk(browser, live_server, member(IT_ADMIN, "it-admin"), pages) == {}
