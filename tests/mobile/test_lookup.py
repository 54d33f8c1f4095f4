"""The inventory lookup inside DingTalk: who may use it, what they see, and that it is cached and limited."""

from decimal import Decimal

import pytest

from mobile.models import LookupSettings
from sandbox.kingdee.models import FormRecord
from sandbox.kingdee.views import injector
from sso.models import LoginEvent
from tests.mobile.conftest import sign_in


def corp(lookup):
    return lookup["credentials"]["dingtalk"]["corp_id"]


def stock_of(material):
    """{warehouse: available} summed from the sandbox's own rows."""
    found = {}
    for row in FormRecord.objects.filter(form_id="STK_Inventory", model__FMaterialId__FNumber=material):
        warehouse = row.model["FStockId"]["FNumber"]
        found[warehouse] = found.get(warehouse, Decimal(0)) + Decimal(str(row.model["FBaseAvbQty"]))
    return found


def change_settings(**fields):
    """As IT does in the admin: saved, so every process's memo of the settings is renewed."""
    settings = LookupSettings.objects.get()
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.save()


def kingdee_queries():
    return len(injector.log.entries("ExecuteBillQuery"))


def test_a_mapped_person_sees_the_sandboxs_quantities_by_warehouse(client, lookup):
    assert sign_in(client, lookup["url"], lookup["everything"], corp(lookup)).status_code == 302

    page = client.get("/m/inventory/", {"q": "扫码枪"}).content.decode()

    assert "扫码枪 S5" in page and "1.02.002" in page
    for warehouse, available in stock_of("1.02.002").items():
        name = FormRecord.objects.get(form_id="BD_STOCK", number=warehouse).name
        assert name in page and f"{available:f}".rstrip("0").rstrip(".") + " 件" in page


def test_warehouses_outside_the_persons_group_are_hidden(client, lookup):
    sign_in(client, lookup["url"], lookup["shanghai"], corp(lookup))

    page = client.get("/m/inventory/", {"q": "1.02.002"}).content.decode()

    assert "上海总仓" in page and "杭州分仓" not in page and "售后备件仓" not in page


def test_a_page_someone_with_more_rights_searched_first_still_hides_the_other_warehouses(lookup):
    from django.test import Client

    everyone, shanghai = Client(), Client()
    sign_in(everyone, lookup["url"], lookup["everything"], corp(lookup))
    sign_in(shanghai, lookup["url"], lookup["shanghai"], corp(lookup))
    assert "杭州分仓" in everyone.get("/m/inventory/", {"q": "1.02.002"}).content.decode()

    response = shanghai.get("/m/inventory/", {"q": "1.02.002"})

    page = response.content.decode()
    assert response["X-Lookup-Cache"] == "hit" and "上海总仓" in page and "杭州分仓" not in page


def test_switching_someone_off_or_out_of_their_group_takes_effect_at_the_next_search(client, lookup):
    from mobile.models import InventoryScope
    from sso.models import IdentityMap

    sign_in(client, lookup["url"], lookup["everything"], corp(lookup))
    assert client.get("/m/inventory/", {"q": "扫码枪"}).status_code == 200
    identity = IdentityMap.objects.get(dingtalk_userid=lookup["everything"].userid)

    InventoryScope.objects.get(name="全部").members.remove(identity)
    assert client.get("/m/inventory/", {"q": "扫码枪"}).status_code == 403
    InventoryScope.objects.get(name="全部").members.add(identity)
    assert client.get("/m/inventory/", {"q": "扫码枪"}).status_code == 200
    identity.active = False
    identity.save()
    assert "sso-form" in client.get("/m/inventory/", {"q": "扫码枪"}).content.decode()


def test_unmapped_people_are_refused_and_logged(client, lookup):
    response = sign_in(client, lookup["url"], lookup["unmapped"], corp(lookup))

    assert response.status_code == 403 and "身份映射" in response.content.decode()
    assert LoginEvent.objects.filter(dingtalk_userid=lookup["unmapped"].userid, reason="unmapped").exists()
    assert "sso-form" in client.get("/m/inventory/", {"q": "扫码枪"}).content.decode()  # still not signed in


def test_a_person_in_no_group_sees_no_stock(client, lookup):
    sign_in(client, lookup["url"], lookup["nogroup"], corp(lookup))

    response = client.get("/m/inventory/", {"q": "扫码枪"})

    assert response.status_code == 403 and "库存查看范围组" in response.content.decode()


def test_a_repeated_search_within_the_cache_time_asks_kingdee_nothing(client, lookup):
    sign_in(client, lookup["url"], lookup["everything"], corp(lookup))
    client.get("/m/inventory/", {"q": "传感器"})
    before = kingdee_queries()

    again = client.get("/m/inventory/", {"q": "传感器"}).content.decode()

    assert kingdee_queries() == before and "温湿度传感器 T3" in again
    change_settings(cache_seconds=0)
    client.get("/m/inventory/", {"q": "烟雾"})
    assert kingdee_queries() > before


def test_searches_over_the_per_person_limit_are_refused_in_chinese(client, lookup):
    change_settings(searches_per_minute=2)
    sign_in(client, lookup["url"], lookup["everything"], corp(lookup))

    codes = [client.get("/m/inventory/", {"q": f"物料{i}"}).status_code for i in range(3)]

    assert codes[:2] == [200, 200] and codes[2] == 429
    assert "查询过于频繁" in client.get("/m/inventory/", {"q": "x"}).content.decode()


@pytest.mark.parametrize("text", ["%", "'; drop", "a" * 200, "  "])
def test_odd_search_text_is_answered_plainly(client, lookup, text):
    sign_in(client, lookup["url"], lookup["everything"], corp(lookup))

    response = client.get("/m/inventory/", {"q": text})

    assert response.status_code == 200


def test_the_lookup_never_writes_to_kingdee(client, lookup):
    sign_in(client, lookup["url"], lookup["everything"], corp(lookup))
    injector.log.clear()  # the log is the live server's: only what this search asked
    client.get("/m/inventory/", {"q": "支架"})

    services = {service for _t, service, _o in injector.log.entries("")}

    assert services <= {"AuthService.ValidateUser", "AuthService.LoginByAppSecret", "AuthService.LoginBySign",
                        "AuthService.LoginBySimplePassport", "DynamicFormService.ExecuteBillQuery"}, services


def test_outside_dingtalk_the_browser_logs_in_through_dingtalks_web_login(client, lookup):
    from urllib.parse import urlsplit

    import requests

    start = client.get("/m/inventory/oauth/", {"corpId": corp(lookup)})
    assert start.status_code == 302 and "/oauth2/auth?" in start["Location"]
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Fm%2Finventory%2Foauth%2Fcallback" in start["Location"]
    # The person picks themselves on DingTalk's login page (the sandbox's takes `userid` from a script).
    back = requests.get(start["Location"], params={"userid": lookup["everything"].userid}, allow_redirects=False,
                        timeout=10).headers["Location"]
    assert client.get("/m/inventory/oauth/callback?" + urlsplit(back).query.replace("state=", "state=x")) \
        .status_code == 403  # a forged state is refused before the code is used

    start = client.get("/m/inventory/oauth/", {"corpId": corp(lookup)})
    back = requests.get(start["Location"], params={"userid": lookup["everything"].userid}, allow_redirects=False,
                        timeout=10).headers["Location"]
    landed = client.get("/m/inventory/oauth/callback?" + urlsplit(back).query)

    assert landed.status_code == 302 and landed["Location"] == "/m/inventory/"
    assert "扫码枪 S5" in client.get("/m/inventory/", {"q": "扫码枪"}).content.decode()
    assert LoginEvent.objects.filter(dingtalk_userid=lookup["everything"].userid, flow="oauth",
                                     outcome="success").exists()
