"""A seeded DingTalk and Kingdee sandbox behind a live server, with the portal's connections pointing at it."""

import pytest

from integrations.models import Connection
from devtools.sso_demo import setup_demo_sso
from sso.models import IdentityMap

PEOPLE = 10


@pytest.fixture
def sandbox_sso(live_server, transactional_db, settings):
    from sandbox import roster
    from sandbox.dingtalk.seed import seed_dingtalk
    from sandbox.kingdee.seed import seed_kingdee

    people = [p for p in roster.employees(PEOPLE) if p.active]
    credentials = {**seed_dingtalk(people, instances=0), **seed_kingdee(people)}
    app, kd = credentials["dingtalk"], credentials["kingdee"]
    dingtalk = Connection.objects.create(
        name="沙箱钉钉", kind="dingtalk", base_url=f"{live_server.url}/sandbox/dingtalk/",
        api_base_url=f"{live_server.url}/sandbox/dingtalk/", app_key=app["app_key"], app_secret=app["app_secret"],
        agent_id=app["agent_id"], corp_id=app["corp_id"], rate_limit=1000,
    )
    kingdee = Connection.objects.create(
        name="沙箱金蝶", kind="kingdee", base_url=f"{live_server.url}/sandbox/kingdee/", acct_id=kd["acct_id"],
        username=kd["username"], app_id=kd["app_id"], app_secret=kd["app_secret"],
    )
    sso = setup_demo_sso(kingdee, credentials["kingdee_sso"], dingtalk)
    mapped, unmapped = people[:-1], people[-1]
    IdentityMap.objects.bulk_create(
        IdentityMap(dingtalk=dingtalk, dingtalk_userid=p.userid, name=p.name, mobile=p.mobile,
                    kingdee_username=p.kingdee_username,
                    kingdee_staff_number=p.job_number) for p in mapped
    )
    return {"live_server": live_server, "sso": sso, "corp_id": app["corp_id"], "mapped": mapped,
            "unmapped": unmapped, "credentials": credentials}
