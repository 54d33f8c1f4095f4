import pytest

from sandbox.dingtalk.models import Department, Employee, SandboxSettings

pytestmark = pytest.mark.django_db
BASE = "/sandbox/dingtalk/"


@pytest.fixture
def call(client, seeded):
    app = seeded["dingtalk"]
    token = client.get(BASE + "gettoken", {"appkey": app["app_key"], "appsecret": app["app_secret"]}).json()[
        "access_token"]

    def post(path, **body):
        return client.post(f"{BASE}{path}?access_token={token}", body, content_type="application/json").json()

    return post


def test_listsub_returns_direct_children_only(call):
    children = call("topapi/v2/department/listsub", dept_id=1)["result"]
    assert {d["parent_id"] for d in children} == {1}
    assert len(children) == Department.objects.filter(parent_id=1).count()
    ids = call("topapi/v2/department/listsubid", dept_id=1)["result"]["dept_id_list"]
    assert ids == [d["dept_id"] for d in children]


def test_an_unknown_department_is_60003(call):
    assert call("topapi/v2/department/get", dept_id=42)["errcode"] == 60003
    assert "parent_id" not in call("topapi/v2/department/get", dept_id=1)["result"]


def test_user_list_pages_through_the_members_of_one_department(call):
    dept = max(Department.objects.all(), key=lambda d: d.members.count())
    members = set(dept.members.values_list("userid", flat=True))
    first = call("topapi/v2/user/list", dept_id=dept.dept_id, cursor=0, size=1)["result"]
    assert first["has_more"] is (len(members) > 1) and len(first["list"]) == 1
    seen, cursor = [], 0
    while True:
        page = call("topapi/user/listsimple", dept_id=dept.dept_id, cursor=cursor, size=1)["result"]
        seen += [u["userid"] for u in page["list"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert set(seen) == members and call("topapi/v2/user/list", dept_id=1, cursor=0, size=101)["errcode"] == 400002


def test_a_person_who_left_disappears(call):
    person = Employee.objects.first()
    assert call("topapi/v2/user/get", userid=person.userid)["result"]["name"] == person.name
    person.active = False
    person.save()
    assert call("topapi/v2/user/get", userid=person.userid)["errcode"] == 60121
    assert call("topapi/v2/user/getbymobile", mobile=person.mobile)["errcode"] == 60121
    assert call("topapi/user/getbyunionid", unionid=person.unionid)["errcode"] == 60121


def test_lookups_by_unionid_and_mobile_and_their_errors(call):
    person = Employee.objects.last()
    assert call("topapi/user/getbyunionid", unionid=person.unionid)["result"] == {"contact_type": 0,
                                                                                 "userid": person.userid}
    assert call("topapi/v2/user/getbymobile", mobile=person.mobile)["result"]["userid"] == person.userid
    assert call("topapi/v2/user/getbymobile", mobile="12")["errcode"] == 40104
    assert call("topapi/v2/user/get", userid="not a userid!")["errcode"] == 33012


def test_mobile_numbers_need_the_permission(call):
    person = Employee.objects.first()
    SandboxSettings.objects.update_or_create(pk=1, defaults={"mobile_visible": False, "email_visible": False})
    user = call("topapi/v2/user/get", userid=person.userid)["result"]
    assert "mobile" not in user and "email" not in user and user["job_number"] == person.job_number
