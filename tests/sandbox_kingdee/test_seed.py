"""The seeded sandbox Kingdee: deterministic, idempotent, and matching the roster."""

import re

import pytest

from integrations import protocol
from sandbox import roster
from sandbox.kingdee.models import FormRecord, KingdeeUser, ThirdPartyApp
from sandbox.kingdee.seed import seed_kingdee

pytestmark = pytest.mark.django_db


def test_seeding_twice_changes_nothing_and_returns_the_same_credentials(people):
    first = seed_kingdee(people)
    counts = (FormRecord.objects.count(), KingdeeUser.objects.count(), ThirdPartyApp.objects.count())
    ids = dict(FormRecord.objects.values_list("number", "fid"))

    assert seed_kingdee(people) == first
    assert (FormRecord.objects.count(), KingdeeUser.objects.count(), ThirdPartyApp.objects.count()) == counts
    assert dict(FormRecord.objects.values_list("number", "fid")) == ids


def test_credentials_have_the_real_shapes(people):
    credentials = seed_kingdee(people)

    kingdee, sso = credentials["kingdee"], credentials["kingdee_sso"]
    assert set(kingdee) >= {"acct_id", "username", "app_id", "app_secret", "lcid", "password"}
    assert set(sso) == {"app_id", "app_secret", "acct_id"}
    assert re.fullmatch(r"[0-9a-f]{14}", kingdee["acct_id"]) and sso["acct_id"] == kingdee["acct_id"]
    for app_id in (kingdee["app_id"], sso["app_id"]):
        assert re.fullmatch(r"\d{6}_[A-Za-z0-9+/]{32}", app_id)
        assert len(protocol.kingdee_client_secret(app_id)) == 32
    assert kingdee["app_id"] != sso["app_id"]


def test_base_data_matches_the_roster(people):
    seed_kingdee(people)

    def numbers(form):
        return set(FormRecord.objects.filter(form_id=form).values_list("number", flat=True))

    assert numbers("BD_Empinfo") == {person.job_number for person in people}
    assert numbers("BD_Department") == {dept.kingdee_number for dept in roster.departments()}
    assert numbers("BD_Expense") == {number for _label, number in roster.EXPENSE_ITEMS}
    assert numbers("CN_BANKACNT") == {number for number, _account, _bank in roster.COMPANY_BANK_ACCOUNTS}
    assert numbers("ORG_Organizations") >= {roster.ORG_NUMBER}
    assert {"FKDLX04_SYS", "FKDLX01_SYS"} <= numbers("BOS_BillType")
    assert KingdeeUser.objects.filter(username__in=[p.kingdee_username for p in people]).count() == len(people)
