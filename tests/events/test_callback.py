"""The portal's HTTP callback endpoint: DingTalk's vectors, both query spellings, refusals recorded."""

import json
import time

import pytest

from integrations import callbacks
from integrations.models import DingTalkEvent, SyncRecord
from tests.events.pushes import AES_KEY, APP_KEY, CORP_ID, TOKEN, approval_event, push, reply_text, send

Outcome = DingTalkEvent.Outcome

VECTOR_A = {"token": "123456", "aes_key": "1234567890123456789012345678901234567890123",
            "receiver": "dingsnotzck6pm5veliw", "timestamp": "1614767836", "nonce": "A7Co0cJLMzIDtMMI",
            "encrypt": "YvkvaGe4hQxd3VxRmEty0dVlnCOAqwf56xwTRHDHoOURqhalbmBJQk5FNcRk42Gl5T0YQXZNwpwWSm1xAFJ5ZA==",
            "signature": "9a95a004dd16f5c307e849b994173f76aa26e5eb"}
VECTOR_B = {"token": "mryue", "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
            "receiver": "ding6ccabc44d2c8d38b", "timestamp": "1608001896814", "nonce": "WL4PK6yA",
            "encrypt": "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+"
                       "HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
            "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb"}


@pytest.fixture
def enqueued(monkeypatch):
    """The tasks handed to django-q2 (after the commit)."""
    calls = []
    monkeypatch.setattr("integrations.queue.async_task", lambda func, *args, **kwargs: calls.append((func, args)))
    return calls


def vector_connection(dingtalk, vector, receiver="app_key"):
    dingtalk.callback_token, dingtalk.callback_aes_key = vector["token"], vector["aes_key"]
    dingtalk.callback_receiver = receiver
    if receiver == "app_key":
        dingtalk.app_key = vector["receiver"]
    else:
        dingtalk.corp_id = vector["receiver"]
    dingtalk.save()
    return dingtalk


def at(monkeypatch, timestamp):
    seconds = int(timestamp) / 1000 if len(timestamp) > 11 else int(timestamp)
    monkeypatch.setattr(callbacks, "clock", lambda: seconds + 3)


def vector_query(vector, spelling=("signature", "timestamp")):
    return {spelling[0]: vector["signature"], spelling[1]: vector["timestamp"], "nonce": vector["nonce"]}


def test_vector_b_check_url_is_answered_with_an_encrypted_success(client, dingtalk, monkeypatch, enqueued):
    connection = vector_connection(dingtalk, VECTOR_B)
    at(monkeypatch, VECTOR_B["timestamp"])

    response = send(client, connection, vector_query(VECTOR_B, ("msg_signature", "timeStamp")),
                    {"encrypt": VECTOR_B["encrypt"]})

    assert response.status_code == 200
    assert reply_text(response.json(), VECTOR_B["token"], VECTOR_B["aes_key"], VECTOR_B["receiver"]) == "success"
    event = DingTalkEvent.objects.get()
    assert (event.event_type, event.outcome) == ("check_url", Outcome.IGNORED)
    assert enqueued == []


def test_vector_b_verifies_with_the_corp_id_as_receiver_too(client, dingtalk, monkeypatch):
    connection = vector_connection(dingtalk, VECTOR_B, receiver="corp_id")
    at(monkeypatch, VECTOR_B["timestamp"])

    response = send(client, connection, vector_query(VECTOR_B), {"encrypt": VECTOR_B["encrypt"]})

    assert response.status_code == 200
    assert reply_text(response.json(), VECTOR_B["token"], VECTOR_B["aes_key"], VECTOR_B["receiver"]) == "success"


def test_vector_a_verifies_and_is_kept_as_a_message_that_is_no_event(client, dingtalk, monkeypatch, enqueued):
    connection = vector_connection(dingtalk, VECTOR_A)
    at(monkeypatch, VECTOR_A["timestamp"])

    response = send(client, connection, vector_query(VECTOR_A), {"encrypt": VECTOR_A["encrypt"]})

    assert response.status_code == 200
    assert reply_text(response.json(), VECTOR_A["token"], VECTOR_A["aes_key"], VECTOR_A["receiver"]) == "success"
    event = DingTalkEvent.objects.get()
    assert event.outcome == Outcome.IGNORED and event.body == {"plaintext": "success"}
    assert enqueued == []


def refused(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["errcode"] == code
    event = DingTalkEvent.objects.get()
    assert event.outcome == Outcome.REJECTED and str(code) in event.reason
    return event


@pytest.mark.django_db(transaction=True)
def test_a_wrong_signature_is_refused_recorded_and_nothing_is_enqueued(client, scheme, enqueued):
    response, _query, _body = push(client, scheme.source_connection, approval_event("i-1"), signature="0" * 40)

    event = refused(response, 403, 900005)
    assert event.signature == "0" * 40 and event.event_id == ""
    assert enqueued == [] and not SyncRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_push_for_another_receiver_id_is_refused_recorded_and_nothing_is_enqueued(client, scheme, enqueued):
    response, _query, _body = push(client, scheme.source_connection, approval_event("i-1"), receiver="dingOTHERAPP")

    refused(response, 403, 900010)
    assert enqueued == [] and not SyncRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stale_push_is_refused_recorded_and_nothing_is_enqueued(client, scheme, enqueued):
    old = str(int((time.time() - 3600) * 1000))

    response, _query, _body = push(client, scheme.source_connection, approval_event("i-1"), timestamp=old)

    refused(response, 403, 900011)
    assert "stale" in DingTalkEvent.objects.get().reason
    assert enqueued == [] and not SyncRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_replayed_push_is_refused_recorded_and_enqueues_nothing_more(client, scheme, enqueued):
    first, query, body = push(client, scheme.source_connection, approval_event("i-1"))
    assert first.status_code == 200 and len(enqueued) == 1

    again = send(client, scheme.source_connection, query, body)

    assert again.status_code == 409 and again.json()["errcode"] == 900011
    assert list(DingTalkEvent.objects.order_by("pk").values_list("outcome", flat=True)) == [
        Outcome.QUEUED, Outcome.REJECTED]
    assert len(enqueued) == 1 and SyncRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_approved_claim_is_kept_noted_in_the_ledger_and_a_drain_of_its_scheme_enqueued(client, scheme, enqueued):
    response, _query, _body = push(client, scheme.source_connection, approval_event("i-1", event_id="ev-1"),
                                   spelling=("msg_signature", "timeStamp"))

    assert response.status_code == 200 and reply_text(response.json()) == "success"
    event = DingTalkEvent.objects.get()
    assert (event.event_id, event.event_type, event.change, event.instance_id, event.outcome, event.scheme) == (
        "ev-1", "bpms_instance_change", "finish/agree", "i-1", Outcome.QUEUED, scheme)
    assert event.channel == DingTalkEvent.Channel.CALLBACK and event.remote_addr == "127.0.0.1"
    record = SyncRecord.objects.get()
    assert (record.source_key, record.status) == ("i-1", SyncRecord.Status.PENDING)
    assert enqueued == [("integrations.tasks.sync_pending_records", (scheme.pk,))]


def test_the_check_url_answer_takes_far_less_than_dingtalks_deadline(client, dingtalk):
    started = time.monotonic()
    response, _query, _body = push(client, dingtalk, {"EventType": "check_url"})

    assert response.status_code == 200 and reply_text(response.json()) == "success"
    assert time.monotonic() - started < 0.5  # DingTalk waits 1500 ms


def test_an_unknown_connection_or_one_without_callback_secrets_is_not_found(client, dingtalk, kingdee):
    assert push(client, kingdee, {"EventType": "check_url"})[0].status_code == 404
    dingtalk.callback_token = ""
    dingtalk.save()
    assert push(client, dingtalk, {"EventType": "check_url"})[0].status_code == 404
    assert not DingTalkEvent.objects.exists()


def test_a_disabled_connection_refuses_pushes_and_records_them(client, dingtalk):
    dingtalk.enabled = False
    dingtalk.save()

    response, _query, _body = push(client, dingtalk, approval_event("i-1"))

    refused(response, 403, 900012)


def test_a_body_that_is_not_json_is_refused(client, dingtalk):
    url = f"/dingtalk/callback/{dingtalk.pk}/?signature=x&timestamp=1&nonce=n"
    response = client.post(url, data="not json", content_type="application/json")

    refused(response, 400, 900001)


def test_only_post_is_accepted(client, dingtalk):
    assert client.get(f"/dingtalk/callback/{dingtalk.pk}/").status_code == 405


def test_the_receiver_id_follows_the_connection_setting(dingtalk):
    assert callbacks.receiver_id(dingtalk) == APP_KEY
    dingtalk.callback_receiver = "corp_id"
    assert callbacks.receiver_id(dingtalk) == CORP_ID


def test_seconds_and_milliseconds_timestamps_are_both_fresh(monkeypatch):
    monkeypatch.setattr(callbacks, "clock", lambda: 1_700_000_000.0)
    callbacks.check_fresh("1700000100")
    callbacks.check_fresh("1700000100000")
    with pytest.raises(callbacks.Refused):
        callbacks.check_fresh("1699990000")


def test_the_reply_is_fresh_each_time(dingtalk):
    first, second = callbacks.reply(dingtalk), callbacks.reply(dingtalk)
    assert first["nonce"] != second["nonce"]
    assert reply_text(first, TOKEN, AES_KEY, APP_KEY) == reply_text(second) == "success"
    assert json.dumps(first)
