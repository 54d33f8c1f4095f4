"""The sandbox's Yida and attendance APIs through the portal's own DingTalk client: shapes of the SDK models,
the system token checked, DingTalk's limits (page size, columns, span) and 应出勤天数 reading 0 after 15 days."""

from datetime import datetime, timedelta

import pytest
import requests

from integrations.clients.errors import BusinessError
from sandbox.dingtalk import attendance
from tests.sandbox_dingtalk.helpers import make_client, sandbox_url, seeded  # noqa: F401  (seeded: a fixture)

BEIJING = attendance.BEIJING


@pytest.fixture
def client(live_server, seeded):  # noqa: F811
    yida = seeded["yida"]
    client = make_client(live_server, seeded, yida_app_type=yida["app_type"], yida_system_token=yida["system_token"])
    client.form, client.user = yida["forms"]["sale"], yida["user_id"]
    return client


def token(client):
    return {"x-acs-dingtalk-access-token": client.get_access_token()}


def test_search_pages_bare_objects_and_the_other_reads_keep_their_own_names(client, live_server):
    first = client.yida_search(client.form, client.user, page=1, page_size=3)
    assert first["currentPage"] == 1 and first["totalCount"] == 4 and len(first["data"]) == 3
    row = first["data"][0]
    assert {"formInstanceId", "dataId", "serialNo", "createdTimeGMT", "modifiedTimeGMT", "formData"} <= set(row)
    assert row["originator"]["userName"]["nameInChinese"]
    one = client.yida_instance(row["formInstanceId"], client.user)
    assert one["formInstId"] == row["formInstanceId"] and one["originator"]["name"]["nameInChinese"]
    definitions = client.yida_definitions(client.form, client.user)
    table = next(item for item in definitions if item["componentName"] == "TableField")
    assert any(item["parentId"] == table["fieldId"] for item in definitions)
    body = {"appType": client.yida_app_type, "systemToken": client.yida_system_token, "userId": client.user,
            "formUuid": client.form, "pageNumber": 1, "pageSize": 10}
    advanced = requests.post(sandbox_url(live_server) + "v1.0/yida/forms/instances/advances/queryAll", json=body,
                             headers=token(client), timeout=10).json()
    assert advanced["pageNumber"] == 1 and {"id", "serialNumber", "createTimeGMT"} <= set(advanced["data"][0])
    assert any(key.endswith("_id") for key in advanced["data"][0]["formData"])
    ids = requests.post(sandbox_url(live_server) + f"v1.0/yida/forms/instances/ids/{client.yida_app_type}/{client.form}",
                        params={"pageNumber": 1, "pageSize": 2}, json=body, headers=token(client), timeout=10).json()
    assert ids["totalCount"] == 4 and len(ids["data"]) == 2 and ids["data"][0].startswith("FINST-")


def test_a_wrong_system_token_or_a_page_over_100_is_refused(client):
    with pytest.raises(BusinessError):
        client.yida_search(client.form, client.user, page_size=101)
    client.yida_system_token = "wrong"
    with pytest.raises(BusinessError) as refused:
        client.yida_search(client.form, client.user)
    assert "systemToken" in refused.value.message


def test_attendance_columns_values_and_leave_in_their_own_spellings_and_limits(client):
    columns = client.attendance_columns()
    ids = {column["alias"]: column["id"] for column in columns}
    person = seeded_userid(client)
    today = datetime.now(BEIJING).date()
    start = today - timedelta(days=30)
    values = client.attendance_values(person, [ids["should_attendance_days"], ids["attendance_days"]], start, today)
    should = dict(values[str(ids["should_attendance_days"])])
    old = f"{today - timedelta(days=20):%Y-%m-%d} 00:00:00"
    assert should[old] == "0.0" and all(isinstance(value, str) for value in should.values())
    leave = client.leave_times(person, ["事假", "年假"], start, today)
    assert set(leave) == {"事假", "年假"} and len(leave["事假"]) == 31
    with pytest.raises(BusinessError):
        client.attendance_values(person, [ids["attendance_days"]], today - timedelta(days=40), today)
    with pytest.raises(BusinessError):
        client._oapi("topapi/attendance/getcolumnval", {"userid": person, "column_id_list": ",".join(
            str(ids["attendance_days"]) for _ in range(21)), "from_date": f"{start} 00:00:00",
            "to_date": f"{today} 00:00:00"})


def seeded_userid(client):
    from sandbox.dingtalk.models import Employee

    return Employee.objects.filter(active=True).order_by("userid").values_list("userid", flat=True).first()
