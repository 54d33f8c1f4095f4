"""The new templates' pages in Chromium at 1366×768 as IT: the scheme list, each scheme, its mapping preview of a
real sandbox record, the template chooser, the DingTalk connection with the Yida fields and the sandbox's Yida and
attendance lists — they fit and show no English but ids. Set UI_SCREENSHOTS to a folder to keep the pictures."""

import os
import re

import pytest

from portal.roles import IT_ADMIN
from tests.ui.test_tour import SCREENSHOTS, VISIBLE, browser, logged_in, member  # noqa: F401  (browser: a fixture)
from tests.yida.conftest import ATTENDANCE

pytestmark = pytest.mark.django_db(transaction=True)
# Ids a page may show besides the tour's: Kingdee field keys and form ids, Yida's parameter names and ids.
IDS = (r"AppKey|AppSecret|AgentId|CorpId|userid|unionid|Stream|xlsx|csv|cron|Cron|qcluster|Excel|admin|Webhook|JSON"
       r"|appType|systemToken|formUuid|F[A-Za-z0-9_]+|[A-Z]{2,}[A-Z0-9_]*|[A-Z]+_[A-Za-z_]+|Pcs|Standard|true|false"
       r"|GENERAL|NORMAL|InnerOrgTransfer|BD_OwnerOrg|BD_KeeperOrg|CG|Text|yyyy-MM-dd|month|month_end|job_number"
       r"|userid@YYYY-MM|FORM-\w+|FINST-\w+|APP_\w+|IsVerifyBaseDataField|formUuid|manager4220@2026-05")
ALLOWED = rf"^({IDS})$"


def test_the_yida_and_attendance_schemes_and_their_previews_fit_and_speak_chinese(browser, live_server, world):  # noqa: F811
    schemes = [world.yida_scheme(key, scheduled=True) for key in ("sale", "receipt", "transfer")]
    schemes.append(world.scheme(ATTENDANCE, scheduled=True))
    pages = ["/admin/integrations/scheme/", "/admin/integrations/scheme/from-template/",
             f"/admin/integrations/connection/{world.dingtalk.pk}/change/"]
    for scheme in schemes:
        pages += [f"/admin/integrations/scheme/{scheme.pk}/change/", f"/admin/integrations/scheme/{scheme.pk}/preview/?key="]
    pages += ["/admin/sandbox_dingtalk/yidainstance/", "/admin/sandbox_dingtalk/attendancecorrection/"]
    context = logged_in(browser, live_server, member(IT_ADMIN, "it-admin"))
    page, problems = context.new_page(), {}
    for path in pages:
        page.goto(live_server.url + path)
        seen = page.evaluate(VISIBLE, ALLOWED)
        if SCREENSHOTS:
            page.screenshot(path=os.path.join(SCREENSHOTS, "yida" + re.sub(r"\W+", "-", path) + ".png"), full_page=True)
        found = [f"English: {seen['english']}"] if seen["english"] else []
        found += [f"the page scrolls {seen['pageOverflow']} px sideways"] if seen["pageOverflow"] > 0 else []
        if found:
            problems[path] = found
    context.close()
    for path, found in problems.items():
        print(path, found)
    assert problems == {}
