"""The SSO landing `html5/index.aspx?ud=…` verifies links as Kingdee does (reference §8)."""

import base64
import json
import time
from urllib.parse import quote

import pytest

from integrations import protocol
from sandbox.kingdee.models import KingdeeUser, SsoLanding, ThirdPartyApp

pytestmark = pytest.mark.django_db


def ud_link(sso, username, timestamp=None, algorithm="sha256", page="index", **fields):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = protocol.kingdee_signeddata(sso["acct_id"], username, sso["app_id"], sso["app_secret"], timestamp,
                                         algorithm)
    args = {"dbid": sso["acct_id"], "username": username, "appid": sso["app_id"], "signeddata": signed,
            "timestamp": timestamp, "lcid": "2052", "origintype": "SimPas", "entryrole": "", "formid": "",
            "formtype": "", "pkid": "", "otherargs": "", "openmode": None, **fields}
    return encoded_link(args, page)


def encoded_link(args, page="index"):
    ud = base64.b64encode(json.dumps(args, ensure_ascii=False).encode("utf-8")).decode()
    return f"/sandbox/kingdee/html5/{page}.aspx?ud={quote(ud, safe='')}"


def decode(link):
    from urllib.parse import unquote

    return json.loads(base64.b64decode(unquote(link.split("ud=")[1])))


@pytest.fixture
def sso(creds):
    return creds["kingdee_sso"]


def use_mode(sso, **changes):
    ThirdPartyApp.objects.filter(app_id=sso["app_id"]).update(**changes)


@pytest.mark.parametrize("algorithm", ["sha256", "sha1"])
def test_a_correctly_signed_link_logs_the_user_in(client, sso, people, algorithm):
    use_mode(sso, algorithm=algorithm)
    user = KingdeeUser.objects.get(username=people[0].kingdee_username)

    response = client.get(ud_link(sso, user.username, algorithm=algorithm))

    assert response.status_code == 200
    assert f"已登录金蝶云星空：{user.username} ({user.display_name})" in response.content.decode()
    assert response.cookies["kdservice-sessionid"].value
    landing = SsoLanding.objects.get()
    assert (landing.outcome, landing.username) == ("accepted", user.username)


def test_a_link_with_one_changed_character_is_refused(client, sso, people):
    args = decode(ud_link(sso, people[0].kingdee_username))
    args["signeddata"] = args["signeddata"][:-1] + ("0" if args["signeddata"][-1] != "0" else "1")

    response = client.get(encoded_link(args))

    assert response.status_code == 403
    assert "签名" in response.content.decode()
    assert SsoLanding.objects.get().outcome == "refused"


def test_a_sha1_link_is_refused_by_an_app_that_expects_sha256(client, sso, people):
    assert client.get(ud_link(sso, people[0].kingdee_username, algorithm="sha1")).status_code == 403


def test_an_expired_link_is_refused(client, sso, people):
    response = client.get(ud_link(sso, people[0].kingdee_username, timestamp=int(time.time()) - 601))

    assert response.status_code == 403
    assert "过期" in response.content.decode()


def test_the_timestamp_window_is_the_apps_setting(client, sso, people):
    use_mode(sso, validity_seconds=3600)

    assert client.get(ud_link(sso, people[0].kingdee_username, timestamp=int(time.time()) - 601)).status_code == 200


def test_a_single_use_link_logs_in_once(client, sso, people):
    use_mode(sso, link_mode="single_use")
    link = ud_link(sso, people[0].kingdee_username)

    first, second = client.get(link), client.get(link)

    assert (first.status_code, second.status_code) == (200, 403)
    assert "已使用" in second.content.decode()
    assert list(SsoLanding.objects.order_by("at").values_list("outcome", flat=True)) == ["accepted", "refused"]


def test_a_reusable_link_logs_in_again_unless_the_link_asks_for_one_use(client, sso, people):
    link = ud_link(sso, people[0].kingdee_username)
    once = ud_link(sso, people[1].kingdee_username, otherargs="|{'permitcount':'1'}")

    assert [client.get(link).status_code for _ in range(2)] == [200, 200]
    assert [client.get(once).status_code for _ in range(2)] == [200, 403]


def test_only_listed_users_may_log_in_when_the_app_says_so(client, sso, people):
    use_mode(sso, allow_all_users=False)
    app = ThirdPartyApp.objects.get(app_id=sso["app_id"])
    app.allowed_users.add(KingdeeUser.objects.get(username=people[0].kingdee_username))

    assert client.get(ud_link(sso, people[0].kingdee_username)).status_code == 200
    assert client.get(ud_link(sso, people[1].kingdee_username)).status_code == 403


def test_a_disabled_app_or_user_is_refused(client, sso, people):
    KingdeeUser.objects.filter(username=people[1].kingdee_username).update(enabled=False)
    assert client.get(ud_link(sso, people[1].kingdee_username)).status_code == 403
    use_mode(sso, enabled=False)
    assert client.get(ud_link(sso, people[0].kingdee_username)).status_code == 403


def test_a_deep_link_opens_the_form_and_lightstartapp_opens_it_alone(client, sso, people):
    index = client.get(ud_link(sso, people[0].kingdee_username, formid="AP_PAYBILL", formtype="list"))
    light = client.get(ud_link(sso, people[0].kingdee_username, page="lightstartapp", formid="AP_PAYBILL",
                               openmode="Single"))

    assert 'data-formid="AP_PAYBILL"' in index.content.decode() and "AP_PAYBILL · list" in index.content.decode()
    assert light.status_code == 200 and SsoLanding.objects.filter(page="lightstartapp").exists()


def test_a_plus_turned_into_a_space_and_a_garbled_ud_are_handled(client, sso, people):
    from urllib.parse import unquote

    link = ud_link(sso, people[0].kingdee_username)
    raw = unquote(link.split("ud=")[1]).replace("+", " ")

    assert client.get("/sandbox/kingdee/html5/index.aspx", {"ud": raw}).status_code == 200
    assert client.get("/sandbox/kingdee/html5/index.aspx?ud=%%%").status_code == 400
    assert client.get("/sandbox/kingdee/html5/index.aspx").status_code == 400


def test_the_page_speaks_the_links_language(client, sso, people):
    response = client.get(ud_link(sso, people[0].kingdee_username, lcid="1033"))

    assert "Logged in to Kingdee Cloud Galaxy" in response.content.decode()


def test_the_reference_vector_link_is_accepted(client, creds):
    """The V4 `ud` of reference §8.7, with the vector's app, data centre and a fresh timestamp."""
    from sandbox.kingdee.models import DataCentre

    DataCentre.objects.create(acct_id="62f3c9b0aa1b2c", name="vector")
    ThirdPartyApp.objects.create(name="vector", app_id="230001_K3simAppSecretTestVector00000001",
                                 app_secret="0123456789abcdef0123456789abcdef")
    KingdeeUser.objects.create(user_id=999001, username="张三", display_name="张三")
    vector = {"acct_id": "62f3c9b0aa1b2c", "app_id": "230001_K3simAppSecretTestVector00000001",
              "app_secret": "0123456789abcdef0123456789abcdef"}
    assert protocol.kingdee_signeddata("62f3c9b0aa1b2c", "张三", vector["app_id"], vector["app_secret"],
                                       "1700000000") == "db50cb1713836286e9309b61141bd42c88655b896e1aa7d6febd5dd0e081f4ca"

    assert client.get(ud_link(vector, "张三")).status_code == 200


def test_the_test_link_command_prints_a_working_link(client, sso, people):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("kingdee_test_link", people[0].kingdee_username, "--formid", "AP_PAYBILL", stdout=out)

    link = out.getvalue().strip()
    assert link.startswith("http://127.0.0.1:8000/sandbox/kingdee/html5/index.aspx?ud=")
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200
