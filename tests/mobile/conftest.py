import pytest
import requests

from tests.reports.conftest import world  # noqa: F401


@pytest.fixture
def lookup(world):  # noqa: F811
    """SSO set up as the demo does, the lookup reading the sandbox Kingdee, and two visibility groups."""
    from django.core.cache import cache

    from devtools.sso_demo import setup_demo_sso
    from mobile.models import InventoryScope, LookupSettings
    from sandbox import roster
    from sso.models import IdentityMap

    cache.clear()  # the shared cache is a table no test transaction empties: searches and rate windows
    setup_demo_sso(world["kingdee"], world["credentials"]["kingdee_sso"], world["dingtalk"])
    LookupSettings.objects.create(kingdee=world["kingdee"])
    people = roster.employees()
    shanghai, everything = people[0], people[1]
    InventoryScope.objects.create(name="上海销售", orgs="100", warehouses="CK001").members.add(
        IdentityMap.objects.get(dingtalk_userid=shanghai.userid))
    InventoryScope.objects.create(name="全部").members.add(IdentityMap.objects.get(dingtalk_userid=everything.userid))
    return {**world, "shanghai": shanghai, "everything": everything, "unmapped": people[-1], "nogroup": people[2]}


def code_for(base_url, userid):
    """What dd.requestAuthCode gives inside DingTalk for this employee."""
    return requests.get(f"{base_url}/sandbox/dingtalk/sso/authcode", params={"userid": userid}, timeout=10).json()


def sign_in(client, base_url, person, corp_id):
    body = code_for(base_url, person.userid)
    return client.post("/m/inventory/login", {"code": body.get("code", ""), "corpId": corp_id})
