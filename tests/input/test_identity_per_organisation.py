"""DingTalk user ids are unique within one organisation only: the map, its imports and every look-up say which."""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError

from integrations.engine.booking import identity_lookup
from integrations.identity import kingdee_identity
from integrations.models import Connection
from sso.models import IdentityImport, IdentityMap
from sso.tasks import apply_identity_import, check_identity_import
from tests.sso.conftest import CORP_ID, kingdee_connection, xlsx_bytes  # noqa: F401  (fixture)
from tests.sso.fakes import FakeDingTalk
from tests.sso.test_views import LOGIN, ud_of

pytestmark = pytest.mark.django_db
migration = importlib.import_module("sso.migrations.0004_input_identity_per_org")


def organisation(name):
    return Connection.objects.create(name=name, kind="dingtalk", base_url="http://127.0.0.1:9/", app_key=name,
                                     app_secret="s", corp_id=f"corp-{name}")


@pytest.fixture
def two_organisations(dingtalk_connection):
    """The same user id "manager01" in two organisations, for two different people."""
    other = organisation("子公司钉钉")
    IdentityMap.objects.create(dingtalk=dingtalk_connection, dingtalk_userid="manager01", name="张三",
                               kingdee_username="zhangsan", kingdee_staff_number="A01")
    IdentityMap.objects.create(dingtalk=other, dingtalk_userid="manager01", name="李四",
                               kingdee_username="lisi", kingdee_staff_number="B01")
    return dingtalk_connection, other


def test_the_same_user_id_in_two_organisations_is_two_people(two_organisations):
    head_office, subsidiary = two_organisations

    assert kingdee_identity("manager01", head_office)["username"] == "zhangsan"
    assert kingdee_identity("manager01", subsidiary.pk)["username"] == "lisi"
    assert kingdee_identity("manager01") is None  # two organisations: a look-up must say which


def test_a_user_id_is_unique_within_its_organisation(two_organisations):
    with pytest.raises(IntegrityError):
        IdentityMap.objects.create(dingtalk=two_organisations[0], dingtalk_userid="manager01")


def test_without_an_organisation_the_only_dingtalk_connection_is_meant(dingtalk_connection):
    row = IdentityMap.objects.create(dingtalk_userid="u1", kingdee_username="甲")

    assert row.dingtalk == dingtalk_connection
    assert kingdee_identity("u1")["username"] == "甲"


def test_the_identity_transform_uses_the_schemes_dingtalk_connection(two_organisations, kingdee_connection):
    from integrations import market
    from tests.integrations.fakes import PROCESS_CODE

    head_office, subsidiary = two_organisations
    scheme = market.create_scheme(market.DEFAULT, source_connection=subsidiary, target_connection=kingdee_connection,
                                  process_code=PROCESS_CODE, batch_size=10)

    assert identity_lookup(scheme)("manager01")["username"] == "lisi"


def test_sso_looks_the_user_up_in_the_organisation_of_the_login(client, monkeypatch, sso_settings, two_organisations):
    from sso import login

    head_office, subsidiary = two_organisations
    fake = FakeDingTalk(CORP_ID)
    fake.add("manager01", "张三")
    monkeypatch.setattr(login, "dingtalk", lambda sso: fake)

    response = client.get(LOGIN, {"code": fake.code_for("manager01"), "corpId": CORP_ID})

    assert sso_settings.dingtalk == head_office
    assert ud_of(response)["username"] == "zhangsan"


def test_an_import_writes_and_compares_within_its_organisation_only(two_organisations):
    head_office, subsidiary = two_organisations
    content = xlsx_bytes([["manager01", "李四", "", "lisi", "B01", "是"], ["new01", "王五", "", "wangwu", "B02", "是"]])
    job = IdentityImport.objects.create(file_name="map.xlsx", content=content, dingtalk=subsidiary)

    check_identity_import(job.pk)
    job.refresh_from_db()
    assert (job.new_rows, job.changed_rows, job.unchanged_rows) == (1, 0, 1)
    IdentityImport.objects.filter(pk=job.pk).update(status=IdentityImport.Status.QUEUED)
    apply_identity_import(job.pk)

    assert set(IdentityMap.objects.filter(dingtalk=subsidiary).values_list("dingtalk_userid", flat=True)) == {
        "manager01", "new01"}
    assert list(IdentityMap.objects.filter(dingtalk=head_office).values_list("name", flat=True)) == ["张三"]


def test_the_migration_assigns_existing_rows_to_the_only_dingtalk_connection(dingtalk_connection):
    IdentityMap.objects.bulk_create([IdentityMap(dingtalk_userid="u1"), IdentityMap(dingtalk_userid="u2")])

    migration.assign_to_the_only_organisation(apps, None)

    assert set(IdentityMap.objects.values_list("dingtalk", flat=True)) == {dingtalk_connection.pk}


def test_the_migration_leaves_rows_unassigned_when_the_organisation_is_ambiguous(dingtalk_connection):
    organisation("第二个钉钉")
    IdentityMap.objects.bulk_create([IdentityMap(dingtalk_userid="u1")])

    migration.assign_to_the_only_organisation(apps, None)

    assert IdentityMap.objects.get().dingtalk is None
    assert kingdee_identity("u1", dingtalk_connection) is None


def test_rows_of_a_deleted_connection_are_kept_and_serve_the_one_that_replaces_it(dingtalk_connection):
    IdentityMap.objects.create(dingtalk=dingtalk_connection, dingtalk_userid="u1", kingdee_username="甲")
    dingtalk_connection.delete()
    replacement = organisation("新钉钉应用")

    assert IdentityMap.objects.get().dingtalk is None
    assert kingdee_identity("u1", replacement)["username"] == "甲"
    organisation("另一个组织")
    assert kingdee_identity("u1", replacement) is None  # two organisations now: whose is it? someone must say
