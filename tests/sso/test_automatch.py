"""Mapping suggestions and the coverage report, on plain lists and against the sandboxes."""

import pytest
from django.urls import reverse

from sso.automatch import coverage, propose
from sso.models import IdentityMap, LoginEvent
from tests.sso.sandbox import sandbox_sso  # noqa: F401

DINGTALK = [
    {"userid": "u1", "name": "张三", "mobile": "13800138001", "job_number": "A01"},
    {"userid": "u2", "name": "李四", "mobile": "", "job_number": "A02"},
    {"userid": "u3", "name": "王五", "mobile": "", "job_number": ""},
    {"userid": "u4", "name": "赵六", "mobile": "", "job_number": ""},
    {"userid": "u5", "name": "孙七", "mobile": "", "job_number": ""},
]
USERS = [{"FName": "zhangsan", "FPhone": "+86 138-0013-8001"}, {"FName": "李四"}, {"FName": "王五"},
         {"FName": "赵六"}, {"FName": "赵六"}]
EMPLOYEES = [{"FStaffNumber": "A01", "FName": "张三", "FMobile": "13800138001"},
             {"FStaffNumber": "A02", "FName": "李四", "FMobile": ""}]


def test_matches_go_by_mobile_then_job_number_then_exact_name():
    found = {p.userid: p for p in propose(DINGTALK, USERS, EMPLOYEES, mapped_userids=set())}
    assert (found["u1"].kingdee_username, found["u1"].staff_number, found["u1"].matched_by) == ("zhangsan", "A01",
                                                                                                 "mobile")
    assert (found["u2"].kingdee_username, found["u2"].staff_number, found["u2"].matched_by) == ("李四", "A02",
                                                                                                 "job_number")
    assert (found["u3"].kingdee_username, found["u3"].matched_by) == ("王五", "name")


def test_ambiguous_and_unknown_people_get_no_suggestion():
    found = {p.userid for p in propose(DINGTALK, USERS, EMPLOYEES, mapped_userids=set())}
    assert "u4" not in found and "u5" not in found  # two Kingdee users named 赵六; nobody named 孙七


def test_people_already_mapped_are_left_alone():
    assert "u1" not in {p.userid for p in propose(DINGTALK, USERS, EMPLOYEES, mapped_userids={"u1"})}


def test_coverage_names_unmapped_people_and_mappings_pointing_at_nobody():
    mappings = [IdentityMap(dingtalk_userid="u1", kingdee_username="zhangsan", kingdee_staff_number="A01"),
                IdentityMap(dingtalk_userid="u2", kingdee_username="lisi", kingdee_staff_number="B99")]
    report = coverage(DINGTALK, USERS, EMPLOYEES, mappings)
    assert [p["userid"] for p in report["unmapped"]] == ["u3", "u4", "u5"]
    assert [m.dingtalk_userid for m in report["unknown_user"]] == ["u2"]
    assert [m.dingtalk_userid for m in report["unknown_staff"]] == ["u2"]


@pytest.mark.django_db(transaction=True)
def test_suggestions_from_the_sandboxes_are_saved_only_when_chosen(it_client, sandbox_sso):
    IdentityMap.objects.all().delete()
    page = it_client.get(reverse("admin:sso_identitymap_automatch"))
    proposals = page.context["proposals"]
    people = {p.userid: p for p in sandbox_sso["mapped"] + [sandbox_sso["unmapped"]]}
    assert len(proposals) == len(people) and IdentityMap.objects.count() == 0
    for p in proposals:
        assert (p.kingdee_username, p.staff_number) == (people[p.userid].kingdee_username, people[p.userid].job_number)
    chosen = [p.userid for p in proposals][:3]
    response = it_client.post(reverse("admin:sso_identitymap_automatch"), {"userid": chosen})
    assert response.status_code == 302
    assert sorted(IdentityMap.objects.values_list("dingtalk_userid", flat=True)) == sorted(chosen)


@pytest.mark.django_db(transaction=True)
def test_the_coverage_report_lists_the_unmapped_and_the_refused(it_client, sandbox_sso):
    unmapped = sandbox_sso["unmapped"]
    IdentityMap.objects.create(dingtalk_userid="ghost", kingdee_username="不存在的人", kingdee_staff_number="X999")
    LoginEvent.objects.create(outcome="refused", reason="unmapped", flow="in_client", dingtalk_userid=unmapped.userid,
                              name=unmapped.name)
    page = it_client.get(reverse("admin:sso_identitymap_coverage"))
    report = page.context["report"]
    assert [p["userid"] for p in report["unmapped"]] == [unmapped.userid]
    assert [m.dingtalk_userid for m in report["unknown_user"]] == ["ghost"]
    assert [m.dingtalk_userid for m in report["unknown_staff"]] == ["ghost"]
    assert page.context["refused"][0]["dingtalk_userid"] == unmapped.userid


@pytest.mark.django_db
def test_the_coverage_report_names_originators_whose_claims_failed_for_want_of_a_mapping(it_client, monkeypatch):
    from integrations.models import Connection, Scheme, SyncRecord
    from sso import automatch

    monkeypatch.setattr(automatch, "fetch_people", lambda sso: ([], [], []))
    IdentityMap.objects.create(dingtalk_userid="complete", kingdee_username="甲", kingdee_staff_number="A1")
    IdentityMap.objects.create(dingtalk_userid="no-staff", kingdee_username="乙")
    source = Connection.objects.create(name="d", kind="dingtalk", base_url="http://d/", app_key="k")
    target = Connection.objects.create(name="k", kind="kingdee", base_url="http://k/")
    scheme = Scheme.objects.create(name="报销", source_connection=source, target_connection=target)
    for key, originator, kind in [("1", "complete", "mapping"), ("2", "no-staff", "mapping"),
                                  ("3", "nobody", "mapping"), ("4", "nobody", "mapping"), ("5", "other", "rejected")]:
        SyncRecord.objects.create(scheme=scheme, source_key=key, status="failed", error_kind=kind,
                                  originator=originator, title=f"报销单 {key}")
    rows = it_client.get(reverse("admin:sso_identitymap_coverage")).context["unbooked"]
    assert {r["originator"]: r["claims"] for r in rows} == {"nobody": 2, "no-staff": 1}
