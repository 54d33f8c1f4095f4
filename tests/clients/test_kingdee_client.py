"""KingdeeClient against the sandbox over loopback HTTP, and against the official SDK's signature."""

import threading
import time

import pytest
from k3cloud_webapi_sdk.main import K3CloudApiSdk

from integrations.clients.errors import AuthError, BusinessError, ConfigurationError, ThrottledError, TransientError
from integrations.clients.kingdee import ItemOutcome, KingdeeClient, OutcomeUnknownError
from sandbox.kingdee.bills import INJECTED_ERROR
from sandbox.kingdee.views import injector
from tests.sandbox_kingdee.fixtures import creds, faults, fresh_injector, kd_url, people  # noqa: F401
from tests.sandbox_kingdee.payloads import paybill

live = pytest.mark.django_db(transaction=True)
VECTOR = {"acct_id": "62f3c9b0aa1b2c", "username": "demo", "app_id": "230001_K3simAppSecretTestVector00000001",
          "app_secret": "0123456789abcdef0123456789abcdef", "lcid": 2052}
SAVE_URL = "http://k3.example.com/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc"


OPEN_CLIENTS = []


@pytest.fixture(autouse=True)
def close_clients():
    """Keep-alive connections would pin live-server threads, and their database connections, past the test."""
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().session.close()


def make_client(url, kingdee, auth_mode="signature", **overrides):
    options = {"base_url": url, "acct_id": kingdee["acct_id"], "username": kingdee["username"],
               "app_id": kingdee["app_id"], "app_secret": kingdee["app_secret"], "password": kingdee.get("password"),
               "lcid": kingdee["lcid"], "org_number": "100", "auth_mode": auth_mode, "rate_limit": None,
               "max_concurrency": 8, "connect_timeout": 2, "read_timeout": 10, "name": f"test-{auth_mode}"}
    client = KingdeeClient(**{**options, **overrides})
    OPEN_CLIENTS.append(client)
    return client


def calls(service, outcome=None):
    return injector.log.entries(service, outcome)


# --- signatures ------------------------------------------------------------------------


@pytest.mark.parametrize("org_number", [0, 100])
def test_it_computes_the_same_signature_headers_as_the_official_sdk(monkeypatch, org_number):
    monkeypatch.setattr(time, "time", lambda: 1700000000.42)
    sdk = K3CloudApiSdk("http://k3.example.com/k3cloud/")
    sdk.InitConfig(VECTOR["acct_id"], VECTOR["username"], VECTOR["app_id"], VECTOR["app_secret"],
                   "http://k3.example.com/k3cloud/", VECTOR["lcid"], org_number)
    client = make_client("http://k3.example.com/k3cloud/", VECTOR, org_number=org_number)

    ours = client.signed_headers(SAVE_URL)
    theirs = sdk.BuildHeader(SAVE_URL)

    assert ours == {name: theirs[name] for name in ours}
    assert len(ours) == 9 and ours["x-api-nonce"] == "1700000000"
    if org_number == 0:  # reference §4.8
        assert ours["X-Kd-Signature"] == ("YTViZWUzZDkxYWEwODIxODQ1ZjI0ZmU1NWExZTM2YjFhY2JlMjkyYmM5ZGFiZjU5OTAxOWNiZD"
                                          "UzNDQxMmQyYw==")


# --- test connection -------------------------------------------------------------------


@live
@pytest.mark.parametrize("auth_mode", ["signature", "app_secret_login", "password"])
def test_check_succeeds_with_the_seeded_credentials(creds, kd_url, auth_mode):
    text = make_client(kd_url, creds["kingdee"], auth_mode).check()

    assert text == f"demo @ {creds['kingdee']['acct_id']}, 100 星河智造科技有限公司"


@live
@pytest.mark.parametrize("auth_mode, error_class, message", [
    ("signature", AuthError, "会话信息已丢失，请重新登录"),
    ("app_secret_login", ConfigurationError, "应用ID或应用密钥错误，请检查第三方系统登录授权！"),
    ("password", ConfigurationError, "用户名或密码错误！"),
])
def test_check_raises_with_kingdees_message_for_a_wrong_secret(creds, kd_url, auth_mode, error_class, message):
    wrong = {**creds["kingdee"], "app_secret": "0" * 32, "password": "wrong"}

    with pytest.raises(error_class) as caught:
        make_client(kd_url, wrong, auth_mode).check()

    assert caught.value.message == message


@live
def test_a_wrong_server_url_is_a_configuration_error(creds, kd_url):
    with pytest.raises(ConfigurationError) as caught:
        make_client(kd_url + "nowhere/", creds["kingdee"]).check()

    assert caught.value.http_status == 404


@live
def test_forbidding_an_employee_through_excute_operation_makes_it_unusable(creds, kd_url, people):
    client = make_client(kd_url, creds["kingdee"])

    assert [o.ok for o in client.operation("BD_Empinfo", "Forbid", numbers=[people[0].job_number])] == [True]
    with pytest.raises(BusinessError) as caught:
        client.save("AP_PAYBILL", paybill(people[0], "P-FORBIDDEN"))

    assert "FCONTACTUNIT" in caught.value.message or "往来单位" in caught.value.message


@live
def test_a_refused_signature_is_retried_once_then_surfaced(creds, kd_url):
    wrong = {**creds["kingdee"], "app_secret": "0" * 32}

    with pytest.raises(AuthError):
        make_client(kd_url, wrong).execute_bill_query("BD_Department", "FNumber")

    assert len(calls("ExecuteBillQuery", "session_lost")) == 2


# --- writes and per-item outcomes ------------------------------------------------------


@live
def test_batch_save_reports_each_package_by_its_dindex(creds, kd_url, people):
    client = make_client(kd_url, creds["kingdee"])
    models = [paybill(people[0], "P-1"), paybill(people[1], "P-2", cost="FYXM99_SYS"), paybill(people[2], "P-3")]

    outcomes = client.batch_save("AP_PAYBILL", models)

    assert [outcome.ok for outcome in outcomes] == [True, False, True]
    assert outcomes[0].number.startswith("FKD") and outcomes[2].id
    assert outcomes[1] == ItemOutcome(1, False, errors=[{
        "field": "FCOSTID",
        "message": "第1行分录，字段“费用项目”(FCOSTID)的值“FYXM99_SYS”在基础资料“费用项目”(BD_Expense)中不存在、未审核或已禁用！",
    }])
    found = client.execute_bill_query("AP_PAYBILL", "FTHIRDBILLNO", "FTHIRDBILLNO in ('P-1','P-2','P-3')", "FBillNo")
    assert found == [["P-1"], ["P-3"]]


@live
def test_save_raises_a_business_error_with_kingdees_message(creds, kd_url, people):
    client = make_client(kd_url, creds["kingdee"])

    with pytest.raises(BusinessError) as caught:
        client.save("AP_PAYBILL", paybill(people[0], "P-NO-ACCOUNT", account=None))

    assert caught.value.message == "第1行分录，银行业务的结算方式，我方银行相关信息必录！"


@live
def test_submit_and_audit_treat_a_repeat_as_done_and_report_other_refusals(creds, kd_url, people):
    client = make_client(kd_url, creds["kingdee"])
    number = client.save("AP_PAYBILL", paybill(people[0], "P-AUDIT")).number

    assert [o.ok for o in client.submit("AP_PAYBILL", [number])] == [True]
    assert [o.ok for o in client.audit("AP_PAYBILL", [number])] == [True]
    again = client.audit("AP_PAYBILL", [number])
    refused = client.delete("AP_PAYBILL", [number])

    assert again[0].ok and again[0].message == f"单据编号为“{number}”的付款单，单据已经审核！"
    assert not refused[0].ok and refused[0].message == f"单据编号为“{number}”的付款单，单据已经审核，不能删除！"
    assert [o.ok for o in client.unaudit("AP_PAYBILL", [number])] == [True]
    assert [o.ok for o in client.delete("AP_PAYBILL", [number])] == [True]


@live
def test_view_returns_the_bill_and_a_missing_bill_is_a_business_error(creds, kd_url, people):
    client = make_client(kd_url, creds["kingdee"])
    saved = client.save("AP_PAYBILL", paybill(people[0], "P-VIEW"))

    bill = client.view("AP_PAYBILL", number=saved.number)

    assert bill["Id"] == saved.id and bill["BillNo"] == saved.number and bill["DocumentStatus"] == "A"
    assert bill["CONTACTUNIT"]["Number"] == people[0].job_number
    with pytest.raises(BusinessError):
        client.view("AP_PAYBILL", number="FKD99999999")


@live
def test_an_unknown_query_key_raises_msgcode_9(creds, kd_url):
    with pytest.raises(BusinessError) as caught:
        make_client(kd_url, creds["kingdee"]).execute_bill_query("AP_PAYBILL", "FBillNo,FIssueType")

    assert caught.value.code == 9 and caught.value.message == "元数据中标识为FIssueType的字段不存在"


@live
def test_query_all_pages_until_a_short_page(creds, kd_url, people):
    client = make_client(kd_url, creds["kingdee"])

    rows = list(client.query_all("BD_Empinfo", ["FStaffNumber", "FName"], order_string="FStaffNumber", page_size=5))

    assert rows == [[p.job_number, p.name] for p in sorted(people, key=lambda p: p.job_number)]
    assert len(calls("ExecuteBillQuery")) == 3


# --- faults ----------------------------------------------------------------------------


@live
def test_a_lost_session_is_renewed_by_one_login_and_the_call_succeeds(creds, kd_url, faults):
    client = make_client(kd_url, creds["kingdee"], "app_secret_login")
    client.check()
    faults(session_loss_every=2)

    rows = [client.execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'") for _ in range(3)]

    assert rows == [[["PRE001"]]] * 3
    losses = len(calls("ExecuteBillQuery", "session_lost"))
    assert losses >= 1
    assert len(calls("LoginByAppSecret")) == 1 + losses  # the first login, and one after each loss


@live
def test_in_signature_mode_a_lost_session_is_dropped_and_reopened_by_the_signed_headers(creds, kd_url, faults):
    client = make_client(kd_url, creds["kingdee"])
    faults(session_loss_every=2)

    for _ in range(4):
        assert client.execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'") == [["PRE001"]]

    assert len(calls("ExecuteBillQuery", "session_lost")) >= 2


@live
def test_threads_that_lose_their_session_together_share_one_new_login(creds, kd_url):
    from sandbox.kingdee.models import KingdeeSession

    client = make_client(kd_url, creds["kingdee"], "password")
    barrier = threading.Barrier(7)
    failures = []

    def work():
        try:
            client.execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'")
            barrier.wait()
            barrier.wait()  # meanwhile Kingdee loses every session
            client.execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    barrier.wait()
    KingdeeSession.objects.all().delete()
    barrier.wait()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(calls("ExecuteBillQuery", "session_lost")) == 6
    assert len(calls("ValidateUser")) == 2


@live
def test_call_limits_are_retried_and_succeed(creds, kd_url, faults):
    client = make_client(kd_url, creds["kingdee"])
    faults(seed=3, throttle_rate=0.5)

    results = [client.execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'") for _ in range(4)]

    assert results == [[["PRE001"]]] * 4
    assert calls("ExecuteBillQuery", "throttled")


@live
def test_a_persistent_call_limit_surfaces_as_throttled_with_kingdees_message(creds, kd_url, faults):
    faults(throttle_rate=1.0)

    with pytest.raises(ThrottledError) as caught:
        make_client(kd_url, creds["kingdee"]).execute_bill_query("BD_Currency", "FNumber")

    assert caught.value.code == 14 and "调用限制" in caught.value.message
    assert len(calls("ExecuteBillQuery", "throttled")) == KingdeeClient.attempts


@live
def test_a_save_refused_for_the_call_limit_is_repeated_because_kingdee_did_nothing(creds, kd_url, faults, people):
    faults(seed=3, throttle_rate=0.5)

    outcome = make_client(kd_url, creds["kingdee"]).save("AP_PAYBILL", paybill(people[0], "P-LIMIT"))

    assert outcome.ok
    assert calls("DynamicFormService.Save", "throttled")


@live
@pytest.mark.parametrize("knob, outcome", [("unavailable_rate", "unavailable"), ("server_error_rate", "server_error")])
def test_reads_are_retried_after_503_and_5xx_answers(creds, kd_url, faults, knob, outcome):
    faults(seed=1, **{knob: 0.5})
    client = make_client(kd_url, creds["kingdee"])

    results = [client.execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'") for _ in range(4)]

    assert results == [[["PRE001"]]] * 4
    assert calls("ExecuteBillQuery", outcome)


@live
@pytest.mark.parametrize("knob, outcome", [("unavailable_rate", "unavailable"), ("server_error_rate", "server_error")])
def test_a_save_is_not_repeated_after_a_503_or_5xx(creds, kd_url, faults, people, knob, outcome):
    faults(**{knob: 1.0})

    with pytest.raises(OutcomeUnknownError) as caught:
        make_client(kd_url, creds["kingdee"]).save("AP_PAYBILL", paybill(people[0], "P-5XX"))

    assert isinstance(caught.value, TransientError)
    assert len(calls("DynamicFormService.Save")) == 1


@live
def test_a_timed_out_save_is_not_repeated_and_can_be_reconciled(creds, kd_url, faults, people):
    faults(timeout_rate=1.0, timeout_seconds=1.5)
    client = make_client(kd_url, creds["kingdee"], read_timeout=0.5)

    with pytest.raises(OutcomeUnknownError):
        client.batch_save("AP_PAYBILL", [paybill(people[0], "P-TIMEOUT")])
    time.sleep(1.2)  # the sandbox finishes its answer late
    faults(timeout_rate=0.0)

    found = client.execute_bill_query("AP_PAYBILL", "FBillNo", "FTHIRDBILLNO='P-TIMEOUT'")
    assert len(found) == 1
    assert len(calls("DynamicFormService.BatchSave")) == 1


@live
def test_a_timed_out_read_is_retried_and_then_surfaced_as_transient(creds, kd_url, faults):
    faults(timeout_rate=1.0, timeout_seconds=0.6)
    client = make_client(kd_url, creds["kingdee"], read_timeout=0.3)

    with pytest.raises(TransientError) as caught:
        client.execute_bill_query("BD_Currency", "FNumber")

    assert not isinstance(caught.value, OutcomeUnknownError)
    time.sleep(0.7)
    assert len(calls("ExecuteBillQuery", "timeout")) == KingdeeClient.attempts


def test_a_save_that_could_not_connect_is_retried():
    client = make_client("http://127.0.0.1:9/", VECTOR, connect_timeout=0.5)
    sent = []
    original = client.session.request
    client.session.request = lambda *args, **kwargs: sent.append(1) or original(*args, **kwargs)

    with pytest.raises(TransientError) as caught:
        client.save("AP_PAYBILL", {"FDATE": "2026-05-01"})

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert len(sent) == KingdeeClient.attempts


@live
def test_added_latency_slows_but_does_not_fail_calls(creds, kd_url, faults):
    faults(latency_ms=300)
    started = time.monotonic()

    assert make_client(kd_url, creds["kingdee"]).execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'")

    assert time.monotonic() - started >= 0.3


@live
def test_a_client_within_the_qps_limit_is_never_throttled(creds, kd_url, faults):
    faults(qps_limit=4)
    client = make_client(kd_url, creds["kingdee"], rate_limit=3)  # a margin for network jitter

    for _ in range(8):
        client.execute_bill_query("BD_Currency", "FNumber", "FNumber='PRE001'")

    assert not calls("", "throttled")


@live
def test_injected_item_errors_fail_their_packages_alone(creds, kd_url, faults, people):
    faults(seed=7, item_error_rate=0.5)
    models = [paybill(person, f"P-ITEM-{index}") for index, person in enumerate(people[:6])]

    outcomes = make_client(kd_url, creds["kingdee"]).batch_save("AP_PAYBILL", models)

    failed = [outcome for outcome in outcomes if not outcome.ok]
    assert failed and len(failed) < len(outcomes)
    assert all(outcome.errors == [{"field": "FDATE", "message": INJECTED_ERROR}] for outcome in failed)
    assert [outcome.index for outcome in outcomes] == list(range(6))
