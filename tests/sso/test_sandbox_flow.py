"""The same door a script uses, against the sandboxes: DingTalk codes in, Kingdee landings out."""

import base64
import json
import time
from urllib.parse import quote, unquote

import pytest
import requests

from sso.kingdee_link import signed_login_url
from sso.models import LoginEvent
from tests.sso.sandbox import sandbox_sso  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def code_for(env, userid):
    response = requests.get(f"{env['live_server'].url}/sandbox/dingtalk/sso/authcode", params={"userid": userid})
    return response.json()["code"]


def portal_link(env, userid, **extra):
    response = requests.get(f"{env['live_server'].url}/sso/dingtalk/login", allow_redirects=False,
                            params={"code": code_for(env, userid), "corpId": env["corp_id"], **extra})
    assert response.status_code == 302, response.text[:300]
    return response.headers["Location"]


def landing(url):
    return requests.get(url, allow_redirects=False)


def test_a_mapped_employee_lands_in_kingdee_as_their_kingdee_user(sandbox_sso):
    person = sandbox_sso["mapped"][0]
    url = portal_link(sandbox_sso, person.userid)
    assert url.startswith(f"{sandbox_sso['live_server'].url}/sandbox/kingdee/html5/index.aspx?ud=")
    page = landing(url)
    assert page.status_code == 200 and f'data-username="{person.kingdee_username}"' in page.text
    assert LoginEvent.objects.get().outcome == "success"


def test_a_chinese_kingdee_user_name_survives_the_whole_trip(sandbox_sso):
    person = next(p for p in sandbox_sso["mapped"] if not p.kingdee_username.isascii())
    assert f'data-username="{person.kingdee_username}"' in landing(portal_link(sandbox_sso, person.userid)).text


def test_a_deep_link_opens_the_payment_bill_list(sandbox_sso):
    url = portal_link(sandbox_sso, sandbox_sso["mapped"][0].userid, form="AP_PAYBILL")
    assert 'data-formid="AP_PAYBILL"' in landing(url).text


def test_a_single_use_link_is_refused_the_second_time(sandbox_sso):
    url = portal_link(sandbox_sso, sandbox_sso["mapped"][0].userid)
    assert landing(url).status_code == 200
    assert landing(url).status_code == 403


def tampered(url):
    base, ud = url.split("ud=", 1)
    args = json.loads(base64.b64decode(unquote(ud)))
    signature = args["signeddata"]
    args["signeddata"] = ("0" if signature[0] != "0" else "1") + signature[1:]  # one character changed
    raw = json.dumps(args, ensure_ascii=False, separators=(",", ":")).encode()
    return base + "ud=" + quote(base64.b64encode(raw).decode(), safe="")


def test_a_link_with_one_changed_character_is_refused(sandbox_sso):
    url = portal_link(sandbox_sso, sandbox_sso["mapped"][0].userid)
    assert landing(tampered(url)).status_code == 403
    assert landing(url).status_code == 200  # the genuine link was not used up by the forgery


def test_a_link_with_an_expired_timestamp_is_refused(sandbox_sso):
    sso, person = sandbox_sso["sso"], sandbox_sso["mapped"][0]
    url = signed_login_url(sso.kingdee.base_url, now=time.time() - 3600, dbid=sso.dbid,
                           username=person.kingdee_username, app_id=sso.app_id, app_secret=sso.app_secret,
                           single_use=True)
    assert landing(url).status_code == 403


def test_an_unmapped_employee_gets_the_refusal_page(sandbox_sso):
    response = requests.get(f"{sandbox_sso['live_server'].url}/sso/dingtalk/login", allow_redirects=False,
                            params={"code": code_for(sandbox_sso, sandbox_sso["unmapped"].userid)})
    assert response.status_code == 403 and 'id="sso-refused"' in response.text
    assert LoginEvent.objects.get().reason == "unmapped"


def test_a_replayed_sandbox_code_is_refused_by_dingtalk(sandbox_sso):
    code = code_for(sandbox_sso, sandbox_sso["mapped"][0].userid)
    url = f"{sandbox_sso['live_server'].url}/sso/dingtalk/login"
    assert requests.get(url, params={"code": code}, allow_redirects=False).status_code == 302
    assert requests.get(url, params={"code": code}, allow_redirects=False).status_code == 403
    assert LoginEvent.objects.latest("created_at").reason == "code_rejected"
