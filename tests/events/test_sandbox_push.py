"""The sandbox sends DingTalk's events: created and decided claims pushed, encrypted, to the portal."""

import json
import threading
import time

import pytest
import requests

from integrations.models import DingTalkEvent, SyncRecord
from sandbox.dingtalk import push as sandbox_push
from sandbox.dingtalk.models import PushedEvent, SandboxSettings
from tests.events.sandbox_world import (
    access_token, create_claims, decide, dingtalk_url, events_world, instance, pushed, set_push,
)
from tests.integrations.live import faultless, assert_bill_matches, bill_counts, bills_by_instance, sandbox_faults, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
Outcome = DingTalkEvent.Outcome
Delivery = PushedEvent.Status


@pytest.fixture
def base_url(live_server):
    with faultless(live_server.url, event_duplicate_rate=0) as url:
        yield url


def delivered(instance_id, count):
    return wait_for(lambda: len(pushed(instance_id, status=Delivery.DELIVERED)) >= count and pushed(instance_id),
                    timeout=20, message=f"{count} deliveries for {instance_id}")


def test_a_claim_created_through_the_api_reads_back_in_the_get_format(base_url):
    events_world(base_url, instances=5)
    [instance_id] = create_claims(base_url, 1)

    answer = requests.post(dingtalk_url(base_url, "topapi/processinstance/get"),
                           params={"access_token": access_token(base_url)},
                           json={"process_instance_id": instance_id}, timeout=10).json()

    process = answer["process_instance"]
    assert process["status"] == "RUNNING" and process["result"] == "" and len(process["tasks"]) == 1
    values = {item.get("name"): item for item in process["form_component_values"]}
    rows = json.loads(values["报销明细"]["value"])
    assert rows and all(cell["key"].startswith(("DD", "Money", "Text")) for cell in rows[0]["rowValue"])
    assert json.loads(values["报销类别"]["ext_value"]) == {"label": "行政报销", "key": "option_0"}
    assert "upper" in json.loads(values["报销总额(元)"]["ext_value"])
    assert values["附件"]["value"] == "null"


def test_the_create_api_refuses_an_unknown_template_person_or_option(base_url):
    events_world(base_url, instances=5)
    url, token = dingtalk_url(base_url, "topapi/processinstance/create"), access_token(base_url)

    def create(**body):
        return requests.post(url, params={"access_token": token}, json=body, timeout=10).json()

    assert create(process_code="PROC-NONE", originator_user_id="x")["errcode"] == 400002
    person = instance(create_claims(base_url, 1)[0]).originator
    assert create(process_code=instance_process_code(), originator_user_id="nobody")["errcode"] == 60121
    bad = create(process_code=instance_process_code(), originator_user_id=person.userid,
                 form_component_values=[{"name": "报销类别", "value": "不存在的类别"}])
    assert bad["errcode"] == 400002 and "不是可选项" in bad["errmsg"]


def instance_process_code():
    from sandbox import roster

    return roster.EXPENSE_PROCESS_CODE


def test_the_console_check_of_the_callback_url_passes_within_the_deadline(base_url):
    scheme = events_world(base_url, instances=5)

    answer = set_push(base_url, verify=True)

    assert answer["callback_url"].endswith(f"/dingtalk/callback/{scheme.source_connection.pk}/")
    assert answer["verified"]["ok"] and answer["verified"]["elapsed_ms"] < 1500
    bad = set_push(base_url, callback_url=f"{base_url}/dingtalk/callback/999/", verify=True)
    assert not bad["verified"]["ok"] and "404" in bad["verified"]["error"]


def test_approving_a_claim_pushes_its_events_and_the_portal_books_the_bill(base_url, q_sync):
    events_world(base_url, instances=5)
    [instance_id] = create_claims(base_url, 1)
    delivered(instance_id, 2)  # instance start, task start

    decide(base_url, instance_id)

    kinds = [(event.event_type, event.summary) for event in delivered(instance_id, 4)]
    assert sorted(kinds) == sorted([("bpms_instance_change", "start"), ("bpms_task_change", "start"),
                                    ("bpms_task_change", "finish/agree"), ("bpms_instance_change", "finish/agree")])
    wait_for(lambda: bill_counts(base_url).get(instance_id) == 1, timeout=20, message="the bill")
    assert_bill_matches(bills_by_instance()[instance_id], instance(instance_id))
    record = SyncRecord.objects.get(source_key=instance_id)
    assert record.booked_via == SyncRecord.Via.EVENT
    outcomes = {(e.event_type, e.change): e.outcome for e in DingTalkEvent.objects.filter(instance_id=instance_id)}
    assert outcomes[("bpms_instance_change", "finish/agree")] == Outcome.BOOKED
    assert outcomes[("bpms_task_change", "finish/agree")] == Outcome.IGNORED


def test_with_a_push_process_the_web_process_only_writes_and_the_push_process_delivers(base_url, q_sync, settings):
    events_world(base_url, instances=5)
    settings.SANDBOX_PUSH_PROCESS = True  # as `sandbox_push` runs beside the sandbox (the benchmarks)
    [instance_id] = create_claims(base_url, 1)
    decide(base_url, instance_id)
    time.sleep(1.5)  # longer than the web process's sweeper waits: it sends nothing either
    assert not pushed(instance_id, status=Delivery.DELIVERED) and len(pushed(instance_id)) == 4

    stopping = threading.Event()
    server = threading.Thread(target=sandbox_push.Pusher().serve, args=(stopping,))
    server.start()
    try:
        assert len(delivered(instance_id, 4)) == 4
        wait_for(lambda: bill_counts(base_url).get(instance_id) == 1, timeout=20, message="the bill")
    finally:
        stopping.set()
        server.join(10)
    assert not server.is_alive()
    assert all(event.deliveries == 1 for event in pushed(instance_id))


def test_refusing_and_withdrawing_push_events_that_book_nothing(base_url, q_sync):
    events_world(base_url, instances=5)
    refused, withdrawn = create_claims(base_url, 2)

    decide(base_url, refused, "refuse")
    decide(base_url, withdrawn, "terminate")

    assert {e.summary for e in delivered(refused, 4)} >= {"finish/refuse"}
    assert {e.summary for e in delivered(withdrawn, 4)} >= {"terminate", "cancel"}
    assert not SyncRecord.objects.filter(source_key__in=[refused, withdrawn]).exists()
    assert refused not in bill_counts(base_url) and withdrawn not in bill_counts(base_url)


def test_a_failed_push_is_retried_until_the_portal_answers(base_url, q_sync, monkeypatch):
    scheme = events_world(base_url, instances=5)
    monkeypatch.setattr(sandbox_push, "RETRY_DELAYS", (0.5, 0.5, 0.5, 0.5, 0.5, 0.5))
    good_url = set_push(base_url)["callback_url"]
    set_push(base_url, callback_url=f"{base_url}/dingtalk/callback/{scheme.source_connection.pk + 100}/")
    [instance_id] = create_claims(base_url, 1)
    wait_for(lambda: all(e.attempts >= 1 and e.last_error for e in pushed(instance_id)) and pushed(instance_id),
             timeout=20, message="failed first attempts")
    assert all(e.status == Delivery.PENDING and "404" in e.last_error for e in pushed(instance_id))

    set_push(base_url, callback_url=good_url)

    assert all(e.attempts >= 2 for e in delivered(instance_id, 2))


def test_a_push_that_never_succeeds_is_given_up_after_the_last_retry(base_url, monkeypatch):
    events_world(base_url, instances=5)
    monkeypatch.setattr(sandbox_push, "RETRY_DELAYS", (0.1, 0.1))
    set_push(base_url, callback_url=f"{base_url}/no-such-portal/")
    [instance_id] = create_claims(base_url, 1)

    failed = wait_for(lambda: len(pushed(instance_id, status=Delivery.FAILED)) == 2 and pushed(instance_id),
                      timeout=20, message="given up")

    assert all(event.attempts == 3 for event in failed)


def test_with_duplicates_on_every_event_arrives_twice_and_is_kept_once(base_url, q_sync):
    events_world(base_url, instances=5)
    sandbox_faults(base_url, "dingtalk", event_duplicate_rate=1.0)
    [instance_id] = create_claims(base_url, 1)

    decide(base_url, instance_id)

    assert all(event.deliveries == 2 for event in delivered(instance_id, 4))
    wait_for(lambda: DingTalkEvent.objects.filter(instance_id=instance_id).count() == 8, timeout=20,
             message="eight deliveries at the portal")
    kept = DingTalkEvent.objects.filter(instance_id=instance_id)
    assert kept.filter(outcome=Outcome.DUPLICATE).count() == 4
    assert bill_counts(base_url)[instance_id] == 1


def test_old_events_sent_again_out_of_order_book_nothing_twice(base_url, q_sync):
    events_world(base_url, instances=5)
    claims = create_claims(base_url, 3)
    for instance_id in claims:
        decide(base_url, instance_id)
    wait_for(lambda: all(bill_counts(base_url).get(i) == 1 for i in claims), timeout=30, message="three bills")
    first_pushes = [event.event_id for i in claims for event in pushed(i)]
    # Bills can be booked before the last task events arrive; redeliver only once all arrived.
    wait_for(lambda: DingTalkEvent.objects.filter(event_id__in=first_pushes).count() == len(first_pushes),
             timeout=30, message="every first delivery")

    set_push(base_url, redeliver=list(reversed(first_pushes)))

    # A push the sandbox's own sender had retried is delivered by it, perhaps just after the redelivery answers.
    wait_for(lambda: DingTalkEvent.objects.filter(outcome=Outcome.DUPLICATE).count() >= len(first_pushes),
             timeout=30, message="every redelivery kept")
    assert DingTalkEvent.objects.filter(outcome=Outcome.DUPLICATE).count() == len(first_pushes)
    assert all(bill_counts(base_url)[i] == 1 for i in claims)


def test_events_go_only_to_apps_that_push_them(base_url):
    events_world(base_url, instances=5)
    set_push(base_url, push_mode="")

    [instance_id] = create_claims(base_url, 1)
    decide(base_url, instance_id)

    time.sleep(0.3)
    assert pushed(instance_id) == [] and not DingTalkEvent.objects.exists()


def test_the_duplicate_knob_is_a_sandbox_setting(base_url):
    answer = sandbox_faults(base_url, "dingtalk", event_duplicate_rate=0.25)
    assert answer["event_duplicate_rate"] == 0.25 == SandboxSettings.current().event_duplicate_rate
    refused = requests.post(dingtalk_url(base_url, "_faults"), data=json.dumps({"event_duplicate_rate": 2}),
                            timeout=10)
    assert refused.status_code == 400
