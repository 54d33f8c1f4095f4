"""What the speed-ups of issue 17 must not change: the same identity row for a login, the same checkbox markup in the
record lists (nothing here is timed)."""

import pytest
from django.contrib import admin
from django.db.models import F

from integrations.models import Connection, ReviewRecord, SyncRecord
from sso.login import identity_of
from sso.models import IdentityMap


def organisation(name):
    return Connection.objects.create(name=name, kind="dingtalk", base_url="https://oapi.dingtalk.com/",
                                     api_base_url="https://api.dingtalk.com/", app_key=name, app_secret="s",
                                     corp_id=name)


def unassigned(userid, username):
    """A row without an organisation (saving one assigns the only DingTalk connection: bulk_create does not)."""
    return IdentityMap.objects.bulk_create([IdentityMap(dingtalk_userid=userid, kingdee_username=username)])[0]


@pytest.mark.django_db
def test_a_login_finds_its_own_organisations_row_before_an_unassigned_one_and_never_another_organisations():
    first = organisation("first")
    unassigned("u1", "kd-unassigned")
    assert identity_of(first.pk, "u1").kingdee_username == "kd-unassigned"  # the only organisation's, then
    IdentityMap.objects.create(dingtalk=first, dingtalk_userid="u1", kingdee_username="kd-first")
    assert identity_of(first.pk, "u1").kingdee_username == "kd-first"
    assert identity_of(first.pk, "nobody") is None

    second = organisation("second")
    assert identity_of(second.pk, "u1") is None  # neither first's row nor, with two organisations, the unassigned
    unassigned("u2", "kd-u2")
    assert identity_of(first.pk, "u2") is None
    for organisation_id, userid in ((first.pk, "u1"), (second.pk, "u1"), (first.pk, "u2")):
        expected = (IdentityMap.objects.of(organisation_id).filter(dingtalk_userid=userid)
                    .order_by(F("dingtalk").asc(nulls_last=True)).first())  # the look-up it replaces
        assert identity_of(organisation_id, userid) == expected


@pytest.mark.django_db
def test_the_record_lists_checkbox_is_djangos_markup(scheme):
    record = SyncRecord.objects.create(scheme=scheme, source_key="k<1>", title="张伟提交的\"报销\"",
                                       status=SyncRecord.Status.FAILED)
    for model in (ReviewRecord, SyncRecord):
        model_admin = admin.site._registry[model]
        assert model_admin.action_checkbox(record) == admin.ModelAdmin.action_checkbox(model_admin, record)


@pytest.mark.django_db
def test_top_reasons_grouped_over_the_sample_are_those_of_the_newest_records_grouped_by_id(scheme):
    from django.db.models import Count, Max

    from integrations import review

    Status = SyncRecord.Status
    for n in range(30):
        SyncRecord.objects.create(scheme=scheme, source_key=f"k{n}", status=[Status.FAILED, Status.SKIPPED][n % 2],
                                  error=["", "账号为空", "期间已关账"][n % 3], reason_code="closed" if n % 3 == 2 else "",
                                  reason_params={"period": "2026-04"} if n % 3 == 2 else {})
    records = SyncRecord.objects.filter(status__in=[Status.FAILED, Status.SKIPPED])
    expected = (review.newest(records, 20).exclude(error="").values_list("error", "reason_code", "reason_params")
                .annotate(n=Count("id"), last=Max("id")).order_by("-n", "error", "reason_code"))
    found = review.sample_groups(records, ("error", "reason_code", "reason_params"), 8, count=20)
    assert list(found) == [tuple(row) for row in expected]
