"""What an attacker might try: open redirects, forged or replayed state, replayed codes, the wrong role."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portal.roles import FINANCE, IT_ADMIN, sync_roles
from sso import login
from sso.models import LoginEvent
from tests.sso.conftest import CORP_ID, KINGDEE_BASE
from tests.sso.fakes import FakeDingTalk

pytestmark = pytest.mark.django_db
LOGIN = reverse("sso:dingtalk_login")
START = reverse("sso:oauth_start")
CALLBACK = reverse("sso:oauth_callback")


@pytest.fixture
def dingtalk(monkeypatch, sso_settings):
    fake = FakeDingTalk(CORP_ID)
    fake.add("user001", "张三")
    monkeypatch.setattr(login, "dingtalk", lambda sso: fake)
    return fake


def state_of(response):
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


@pytest.mark.parametrize("extra", [
    {"next": "https://evil.example/"},
    {"redirect_uri": "https://evil.example/"},
    {"url": "//evil.example/"},
    {"form": "https://evil.example/"},
    {"form": "AP_PAYBILL\r\nLocation: https://evil.example/"},
])
def test_the_only_redirect_target_is_the_configured_kingdee(client, dingtalk, mapped, extra):
    response = client.get(LOGIN, {"code": dingtalk.code_for("user001"), **extra})
    if response.status_code == 302:
        assert response["Location"].startswith(f"{KINGDEE_BASE}html5/index.aspx?ud=")
    else:
        assert response.status_code == 403 and "Location" not in response


def test_oauth_start_sends_the_browser_to_dingtalk_with_a_state_bound_to_the_session(client, dingtalk):
    response = client.get(START, {"corpId": CORP_ID, "redirect_uri": "https://evil.example/"})
    location = response["Location"]
    assert response.status_code == 302 and location.startswith("https://login.dingtalk.com/oauth2/auth?")
    assert "evil.example" not in location
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Fsso%2Fdingtalk%2Foauth%2Fcallback" in location
    assert "client_id=dingappkey0001" in location and "prompt=consent" in location
    assert client.session["sso_oauth"]["state"] == state_of(response)


def test_the_oauth_flow_logs_the_user_in_through_unionid_to_userid(client, dingtalk, mapped):
    state = state_of(client.get(START))
    response = client.get(CALLBACK, {"code": dingtalk.code_for("user001"), "state": state})
    assert response.status_code == 302 and response["Location"].startswith(KINGDEE_BASE)
    event = LoginEvent.objects.get()
    assert (event.outcome, event.flow, event.dingtalk_userid) == ("success", "oauth", "user001")


def test_dingtalk_sends_authcode_too_and_either_name_works(client, dingtalk, mapped):
    state = state_of(client.get(START))
    assert client.get(CALLBACK, {"authCode": dingtalk.code_for("user001"), "state": state}).status_code == 302


@pytest.mark.parametrize("state", ["", "forged-state-value"])
def test_a_forged_or_missing_state_is_refused_before_the_code_is_used(client, dingtalk, mapped, state):
    client.get(START)
    code = dingtalk.code_for("user001")
    response = client.get(CALLBACK, {"code": code, "state": state})
    assert response.status_code == 403
    assert LoginEvent.objects.get().reason == "bad_state"
    assert code in dingtalk.codes  # never exchanged


def test_a_callback_without_any_started_login_is_refused(client, dingtalk, mapped):
    response = client.get(CALLBACK, {"code": dingtalk.code_for("user001"), "state": "x"})
    assert response.status_code == 403 and LoginEvent.objects.get().reason == "bad_state"


def test_a_state_works_once(client, dingtalk, mapped):
    state = state_of(client.get(START))
    assert client.get(CALLBACK, {"code": dingtalk.code_for("user001"), "state": state}).status_code == 302
    assert client.get(CALLBACK, {"code": dingtalk.code_for("user001"), "state": state}).status_code == 403


def test_a_user_token_of_another_organisation_is_refused(client, dingtalk, mapped):
    dingtalk.corp_id = "dingothercorp"
    state = state_of(client.get(START))
    response = client.get(CALLBACK, {"code": dingtalk.code_for("user001"), "state": state})
    assert response.status_code == 403 and LoginEvent.objects.get().reason == "wrong_org"


def test_a_replayed_oauth_code_is_refused(client, dingtalk, mapped):
    code = dingtalk.code_for("user001")
    assert client.get(CALLBACK, {"code": code, "state": state_of(client.get(START))}).status_code == 302
    response = client.get(CALLBACK, {"code": code, "state": state_of(client.get(START))})
    assert response.status_code == 403 and LoginEvent.objects.latest("created_at").reason == "code_rejected"


def test_a_replayed_in_client_code_is_refused(client, dingtalk, mapped):
    code = dingtalk.code_for("user001")
    client.post(LOGIN, {"code": code})
    assert client.post(LOGIN, {"code": code}).status_code == 403


def test_nothing_secret_reaches_the_login_events(client, dingtalk, mapped, sso_settings):
    code = dingtalk.code_for("user001")
    response = client.get(LOGIN, {"code": code})
    client.get(LOGIN, {"code": code})
    ud = response["Location"].split("ud=", 1)[1]
    for event in LoginEvent.objects.all():
        text = " ".join(str(getattr(event, f.attname)) for f in LoginEvent._meta.fields)
        assert code not in text and ud not in text and sso_settings.app_secret not in text


def staff(django_user_model, role, name):
    sync_roles()
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.mark.parametrize("url", [
    "admin:sso_identitymap_changelist", "admin:sso_identitymap_export", "admin:sso_identitymap_import",
    "admin:sso_identitymap_automatch", "admin:sso_identitymap_coverage", "admin:sso_loginevent_changelist",
    "admin:sso_kingdeessosettings_changelist",
])
def test_a_finance_user_is_refused_every_sso_admin_page(client, django_user_model, url):
    client.force_login(staff(django_user_model, FINANCE, "finance"))
    assert client.get(reverse(url)).status_code == 403


def test_an_it_admin_sees_the_identity_map_with_import_and_export(client, django_user_model, mapped):
    client.force_login(staff(django_user_model, IT_ADMIN, "it"))
    page = client.get(reverse("admin:sso_identitymap_changelist")).content.decode()
    assert reverse("admin:sso_identitymap_import") in page and reverse("admin:sso_identitymap_export") in page


def test_login_events_are_read_only_even_for_it(client, django_user_model, dingtalk, mapped):
    client.get(LOGIN, {"code": dingtalk.code_for("user001")})
    client.force_login(staff(django_user_model, IT_ADMIN, "it"))
    event = LoginEvent.objects.get()
    assert client.get(reverse("admin:sso_loginevent_changelist")).status_code == 200
    assert client.get(reverse("admin:sso_loginevent_add")).status_code == 403
    assert client.post(reverse("admin:sso_loginevent_change", args=[event.pk]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("admin:sso_loginevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert LoginEvent.objects.get().outcome == "success"


def test_the_sso_app_secret_is_write_only_in_the_admin(client, django_user_model, sso_settings):
    client.force_login(staff(django_user_model, IT_ADMIN, "it"))
    page = client.get(reverse("admin:sso_kingdeessosettings_change", args=[sso_settings.pk])).content.decode()
    assert sso_settings.app_secret not in page and 'type="password"' in page
