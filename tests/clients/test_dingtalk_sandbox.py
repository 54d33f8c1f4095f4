"""DingTalkClient against the DingTalk sandbox over real loopback HTTP."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.clients.errors import (
    BusinessError, ConfigurationError, QuotaExceededError, ThrottledError, TransientError,
)
from sandbox.dingtalk.forms import TRAVEL_PROCESS_CODE
from sandbox.dingtalk.models import AccessToken, ApprovalInstance, Comment, Employee, SandboxSettings, WorkNotice
from sandbox.dingtalk.views.control import apply_changes
from sandbox.dingtalk.views.gate import injector
from tests.sandbox_dingtalk.helpers import make_client, seeded  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

INSTANCES_PATH = "v1.0/workflow/processInstances"


def window(days=100):
    now = timezone.now()
    return now - timedelta(days=days), now


def set_faults(**knobs):
    apply_changes(SandboxSettings.current(), {**knobs, "clear_calls": True})


def first_id(seeded, status="COMPLETED"):
    return ApprovalInstance.objects.filter(template__process_code=seeded["dingtalk"]["process_code"],
                                           status=status).values_list("process_instance_id", flat=True)[0]


def outcomes(path=""):
    return [outcome for _t, _path, outcome in injector.log.entries(path)]


# --- approvals, both generations -----------------------------------------------------------


def test_both_approval_generations_list_the_same_ids_and_normalize_alike(live_server, seeded):
    new = make_client(live_server, seeded)
    old = make_client(live_server, seeded, legacy_approvals=True, name="legacy")
    code = seeded["dingtalk"]["process_code"]
    ids = list(new.list_instance_ids(code, *window()))
    assert ids == list(old.list_instance_ids(code, *window()))
    assert len(ids) == ApprovalInstance.objects.filter(template__process_code=code).count() == 40
    for instance_id in ids[:6] + list(new.list_instance_ids(TRAVEL_PROCESS_CODE, *window()))[:3]:
        assert new.get_instance(instance_id) == old.get_instance(instance_id)


def test_a_normalized_expense_claim_has_its_detail_rows_and_a_consistent_total(live_server, seeded):
    instance = make_client(live_server, seeded).get_instance(first_id(seeded))
    form = instance["form"]
    assert instance["status"] == "COMPLETED" and instance["result"] == "agree"
    assert instance["create_time"].endswith("+08:00") and instance["title"].endswith("提交的费用报销")
    assert 1 <= len(form["报销明细"]) <= 4
    assert sum(float(row["报销金额(元)"]) for row in form["报销明细"]) == pytest.approx(float(form["报销总额(元)"]))
    originator = Employee.objects.get(userid=instance["originator_userid"])
    assert {row["收款账号"] for row in form["报销明细"]} == {originator.bank_account}


def test_the_status_filter_returns_only_matching_instances_on_v1(live_server, seeded):
    client = make_client(live_server, seeded)
    running = set(client.list_instance_ids(seeded["dingtalk"]["process_code"], *window(), statuses=["RUNNING"]))
    assert running == set(ApprovalInstance.objects.filter(status="RUNNING", template__process_code=seeded[
        "dingtalk"]["process_code"]).values_list("process_instance_id", flat=True))


def test_a_window_longer_than_120_days_is_split(live_server, seeded):
    client = make_client(live_server, seeded)
    ids = list(client.list_instance_ids(seeded["dingtalk"]["process_code"], *window(days=300)))
    assert len(ids) == 40
    assert not [o for o in outcomes("instanceIds") if o != "ok"]


def test_an_unknown_instance_is_a_business_error_with_dingtalks_message(live_server, seeded):
    with pytest.raises(BusinessError) as caught:
        make_client(live_server, seeded).get_instance("no-such-id")
    assert caught.value.code == "processInstanceNotExist" and caught.value.message == "审批实例不存在"


def test_a_comment_reaches_the_instance(live_server, seeded):
    instance = ApprovalInstance.objects.filter(status="COMPLETED").first()
    assert make_client(live_server, seeded).add_comment(instance.process_instance_id, "已生成付款单 FKD0001",
                                                        instance.originator.userid)
    assert Comment.objects.get(instance=instance).text == "已生成付款单 FKD0001"


# --- tokens ------------------------------------------------------------------------------


def test_the_token_is_fetched_once_and_reused(live_server, seeded):
    client = make_client(live_server, seeded)
    client.get_department(1)
    client.get_department(1)
    assert client.calls["/sandbox/dingtalk/v1.0/oauth2/accessToken"] == 1


def test_an_expired_token_is_refreshed_once_and_the_call_succeeds(live_server, seeded):
    client = make_client(live_server, seeded)
    token = client.get_access_token()
    AccessToken.objects.filter(token=token).update(expires_at=timezone.now() - timedelta(seconds=1))
    injector.log.clear()
    assert client.get_instance(first_id(seeded))["status"] == "COMPLETED"
    assert client.get_access_token() != token
    assert outcomes(INSTANCES_PATH) == ["auth", "ok"]
    assert client.calls["/sandbox/dingtalk/v1.0/oauth2/accessToken"] == 2


def test_the_legacy_api_refreshes_on_errcode_88_too(live_server, seeded):
    client = make_client(live_server, seeded, legacy_approvals=True)
    token = client.get_access_token()
    AccessToken.objects.filter(token=token).delete()
    assert client.get_instance(first_id(seeded))["result"] == "agree"
    assert outcomes("processinstance/get") == ["auth", "ok"]


def test_token_expiry_every_n_calls_is_absorbed_by_one_refresh_each_time(live_server, seeded):
    client = make_client(live_server, seeded)
    client.get_access_token()
    set_faults(expire_token_every=3)
    for _ in range(6):
        client.get_department(1)
    # calls 3 and 6 are refused; each time one refresh and one repeat succeed
    assert outcomes("department/get") == ["ok", "ok", "auth", "ok", "ok", "auth", "ok", "ok"]
    assert client.calls["/sandbox/dingtalk/v1.0/oauth2/accessToken"] == 3


def test_a_wrong_app_secret_is_a_configuration_error_with_dingtalks_message(live_server, seeded):
    for legacy in (False, True):
        client = make_client(live_server, seeded, app_secret="wrong", legacy_approvals=legacy)
        with pytest.raises(ConfigurationError) as caught:
            client.check()
        assert caught.value.message in ("无效的clientId或者clientSecret", "不合法的appKey或appSecret")


def test_check_names_the_organisation(live_server, seeded):
    assert "星河智造科技有限公司" in make_client(live_server, seeded).check()


# --- fault knobs -------------------------------------------------------------------------


def test_latency_slows_calls_but_they_succeed(live_server, seeded):
    client = make_client(live_server, seeded)
    client.get_access_token()
    set_faults(latency_ms=300)
    started = time.monotonic()
    assert client.get_user(Employee.objects.first().userid)["name"]
    assert time.monotonic() - started >= 0.3


def test_throttling_is_retried_and_succeeds(live_server, seeded, settings):
    settings.REMOTE_RETRY_WAIT_SCALE = 1  # the retry must wait out the one-second window
    client = make_client(live_server, seeded)  # no client-side limit: the sandbox must push back
    client.get_access_token()
    set_faults(qps_limit=2)
    instance_id = first_id(seeded)
    for _ in range(3):
        assert client.get_instance(instance_id)["status"] == "COMPLETED"
    assert "throttled" in outcomes(INSTANCES_PATH)


def test_persistent_throttling_surfaces_as_a_throttled_error_with_the_message(live_server, seeded, monkeypatch):
    client = make_client(live_server, seeded, legacy_approvals=True)
    client.get_access_token()
    monkeypatch.setattr("sandbox.dingtalk.views.gate.injector.admit", lambda *args, **kwargs: False)
    with pytest.raises(ThrottledError) as caught:
        client.get_instance(first_id(seeded))
    assert caught.value.code == 90018 and "QPS" in caught.value.message
    assert outcomes("processinstance/get") == ["throttled"] * client.attempts


def test_the_monthly_quota_is_a_quota_error_and_not_retried(live_server, seeded):
    for legacy, code in ((False, "Forbidden.AccessDenied.ApiCountLimitForOrg"), (True, 90020)):
        client = make_client(live_server, seeded, legacy_approvals=legacy)
        client.get_access_token()
        set_faults(monthly_quota=2, clear_quota=True)
        client.get_instance(first_id(seeded))
        client.get_instance(first_id(seeded))
        with pytest.raises(QuotaExceededError) as caught:
            client.get_instance(first_id(seeded))
        assert caught.value.code == code and "月调用量" in caught.value.message
        assert outcomes().count("quota") == 1
        client.get_department(1)  # contacts do not count against the quota


def test_server_errors_are_retried_and_succeed(live_server, seeded):
    client = make_client(live_server, seeded)
    client.get_access_token()
    set_faults(server_error_rate=0.34, seed=7)  # this seed never fails four times in a row
    for _ in range(5):
        assert client.get_instance(first_id(seeded))["status"] == "COMPLETED"
    assert "5xx" in outcomes(INSTANCES_PATH)


def test_persistent_server_errors_surface_as_transient_errors(live_server, seeded):
    client = make_client(live_server, seeded)
    client.get_access_token()
    set_faults(server_error_rate=1)
    with pytest.raises(TransientError) as caught:
        client.get_instance(first_id(seeded))
    assert caught.value.http_status == 500 and caught.value.message == "系统错误"


def test_timeouts_are_retried_and_succeed(live_server, seeded):
    client = make_client(live_server, seeded, read_timeout=0.3)
    client.get_access_token()
    set_faults(timeout_rate=0.34, timeout_seconds=0.6, seed=7)
    for _ in range(3):
        assert client.get_instance(first_id(seeded))["status"] == "COMPLETED"
    time.sleep(0.7)  # the sandbox logs a timed-out call when its delay is over
    assert "timeout" in outcomes(INSTANCES_PATH)


def test_persistent_timeouts_surface_as_transient_errors(live_server, seeded):
    client = make_client(live_server, seeded, read_timeout=0.2)
    client.get_access_token()
    set_faults(timeout_rate=1, timeout_seconds=0.5)
    with pytest.raises(TransientError, match="timed out"):
        client.get_user(Employee.objects.first().userid)


# --- the rate limit ----------------------------------------------------------------------


def test_a_burst_from_8_threads_stays_within_20_qps_without_throttling(live_server, seeded):
    client = make_client(live_server, seeded, rate_limit=20, name="burst")
    client.get_access_token()
    set_faults(qps_limit=20)
    instance_id, errors, done = first_id(seeded), [], []
    deadline = time.monotonic() + 3

    def work():
        while time.monotonic() < deadline:
            try:
                client.get_instance(instance_id)
                done.append(1)
            except Exception as error:  # noqa: BLE001 - the test reports every failure
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and "throttled" not in outcomes(INSTANCES_PATH)
    assert injector.log.max_in_window(INSTANCES_PATH, outcome=None) <= 20
    assert done  # how many fit in the window is bench_dingtalk_client's figure: it depends on the machine's load


# --- contacts, login, notices ------------------------------------------------------------


def test_the_org_chart_is_walked_breadth_first_and_users_are_deduplicated(live_server, seeded):
    client = make_client(live_server, seeded)
    departments = client.list_departments()
    assert len(departments) == 20 and departments[0]["parent_id"] == 1
    users = client.list_users()
    assert sorted(u["userid"] for u in users) == sorted(Employee.objects.values_list("userid", flat=True))


def test_a_user_who_left_cannot_be_found(live_server, seeded):
    person = Employee.objects.first()
    person.active = False
    person.save()
    client = make_client(live_server, seeded)
    with pytest.raises(BusinessError) as caught:
        client.get_user(person.userid)
    assert caught.value.code == 60121
    assert person.userid not in {u["userid"] for u in client.list_users()}


def test_an_auth_code_works_once_then_fails_with_40078(live_server, seeded, client):
    person = Employee.objects.first()
    code = client.get("/sandbox/dingtalk/sso/authcode", {"userid": person.userid}).json()["code"]
    dingtalk = make_client(live_server, seeded)
    assert dingtalk.get_userinfo_by_code(code)["userid"] == person.userid
    with pytest.raises(BusinessError) as caught:
        dingtalk.get_userinfo_by_code(code)
    assert caught.value.code == 40078 and caught.value.message == "不存在的临时授权码"


def test_the_oauth2_web_login_leads_to_the_userid(live_server, seeded, client):
    person = Employee.objects.last()
    app = seeded["dingtalk"]
    answer = client.get("/sandbox/dingtalk/oauth2/auth", {
        "redirect_uri": "http://127.0.0.1/sso/back", "response_type": "code", "client_id": app["app_key"],
        "scope": "openid", "state": "xyz", "prompt": "consent", "userid": person.userid})
    code = answer["Location"].split("code=")[1].split("&")[0]
    dingtalk = make_client(live_server, seeded)
    token = dingtalk.user_access_token(code)
    assert token["corpId"] == app["corp_id"]
    me = dingtalk.current_user(token["accessToken"])
    assert dingtalk.userid_by_unionid(me["unionId"]) == person.userid
    with pytest.raises(BusinessError):
        dingtalk.user_access_token(code)


def test_a_work_notice_is_recorded_and_its_result_readable(live_server, seeded):
    person = Employee.objects.first()
    client = make_client(live_server, seeded)
    task_id = client.send_work_notice([person.userid, "nobody"], "报销已入账", "### 付款单 FKD0001")
    notice = WorkNotice.objects.get(task_id=task_id)
    assert notice.msg["markdown"]["title"] == "报销已入账"
    assert client.get_send_result(task_id)["invalid_user_id_list"] == ["nobody"]
