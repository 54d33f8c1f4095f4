"""Joiners, leavers and re-hires reach the identity map, and single sign-on follows at once."""

from types import SimpleNamespace

import pytest
import requests

from devtools.sso_demo import setup_demo_sso
from integrations.adapters import Listed
from sso.models import IdentityMap, LoginEvent
from tests.org.helpers import DEPARTMENTS, EMPLOYEES, driver, employee, full_pass

pytestmark = pytest.mark.django_db(transaction=True)


def sync_people(drv, listed):
    """One pass of the people scheme, then the source's bookkeeping, as the engine does in its transaction."""
    results = drv.sync(listed)
    settled = []
    for key, action in results.items():
        if action == "removed":
            settled.append((key, {"userid": key}, "remove", SimpleNamespace(ok=True, number="", response={})))
        elif action in ("create", "enable"):
            state = drv.written[key]
            settled.append((key, drv.source.fetch(key), action,
                            SimpleNamespace(ok=True, number=state["number"], response=state["response"])))
    drv.source.settled(settled)
    return results, None


def login(world, userid):
    code = requests.get(f"{world.base_url}/sandbox/dingtalk/sso/authcode", params={"userid": userid}).json()["code"]
    return requests.get(f"{world.base_url}/sso/dingtalk/login", allow_redirects=False,
                        params={"code": code, "corpId": world.credentials["dingtalk"]["corp_id"]})


def test_a_joiner_logs_in_once_their_employee_exists_and_a_leaver_is_refused_at_once(world):
    setup_demo_sso(world.kingdee, world.credentials["kingdee_sso"], world.dingtalk)
    dept = world.door(action="add_dept", name="新零售事业部", parent_id=1)
    full_pass(driver(world, DEPARTMENTS))
    world.door(action="add_user", userid="newbie01", name="林小雨", job_number="XH9001", mobile="13512345678",
               dept_id_list=[dept["dept_id"]], title="店长")
    assert login(world, "newbie01").status_code == 403  # not yet in Kingdee, no identity row

    drv = driver(world, EMPLOYEES, identity_rows=True)
    results, _before = sync_people(drv, list(drv.source.list(None, None)))

    assert results["newbie01"] == "create" and employee("XH9001") is not None
    row = IdentityMap.objects.get(dingtalk_userid="newbie01")
    assert row.active and row.kingdee_staff_number == "XH9001" and row.kingdee_username == "林小雨"
    landed = login(world, "newbie01")
    assert landed.status_code == 302 and "/sandbox/kingdee/html5/index.aspx?ud=" in landed.headers["Location"]
    assert 'data-username="林小雨"' in requests.get(landed.headers["Location"]).text

    code = requests.get(f"{world.base_url}/sandbox/dingtalk/sso/authcode", params={"userid": "newbie01"}).json()
    world.door(action="leave", userid="newbie01")
    sync_people(drv, [Listed("newbie01")])

    assert employee("XH9001").forbidden and not IdentityMap.objects.get(dingtalk_userid="newbie01").active
    refused = requests.get(f"{world.base_url}/sso/dingtalk/login", allow_redirects=False,
                           params={"code": code["code"], "corpId": world.credentials["dingtalk"]["corp_id"]})
    assert refused.status_code == 403
    assert LoginEvent.objects.order_by("-pk").first().outcome != "success"

    world.door(action="add_user", userid="newbie01", name="林小雨", job_number="XH9001", mobile="13512345678",
               dept_id_list=[dept["dept_id"]])
    results, _before = sync_people(drv, list(drv.source.list(None, None)))
    assert results["newbie01"] == "enable" and not employee("XH9001").forbidden
    assert IdentityMap.objects.get(dingtalk_userid="newbie01").active
