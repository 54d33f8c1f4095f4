"""Whatever a stranger posts to the callback URL: a 4xx, the attempt recorded, nothing else written."""

import json

import pytest
from django.urls import reverse

from integrations import callbacks
from integrations.models import DingTalkEvent, SyncRecord
from integrations.protocol import callback_envelope, callback_signature
from tests.events.pushes import AES_KEY, APP_KEY, TOKEN

QUERY = "?signature=abc&timestamp=1&nonce=n"
DEEP = "[" * 100_000 + "]" * 100_000


def signed(encrypt, timestamp="1700000000000", nonce="n1"):
    return f"?signature={callback_signature(TOKEN, timestamp, nonce, encrypt)}&timestamp={timestamp}&nonce={nonce}"


HOSTILE = [
    ("encrypt is a number", QUERY, '{"encrypt": 5}', 400),
    ("encrypt is a list", QUERY, '{"encrypt": ["a"]}', 400),
    ("encrypt is an object", QUERY, '{"encrypt": {"a": 1}}', 400),
    ("encrypt is null", QUERY, '{"encrypt": null}', 400),
    ("body is a list", QUERY, '["encrypt"]', 400),
    ("body is a string", QUERY, '"encrypt"', 400),
    ("body is a number", QUERY, "12", 400),
    ("body is deeply nested", QUERY, DEEP, 400),
    ("body is deeply nested objects", QUERY, '{"a":' * 30_000 + "1" + "}" * 30_000, 400),
    ("body is not JSON", QUERY, "<xml>encrypt</xml>", 400),
    ("body is not UTF-8", QUERY, b"\xff\xfe\x00garbage", 400),
    ("body is empty", QUERY, "", 400),
    ("body is huge", QUERY, '{"encrypt": "' + "A" * (callbacks.MAX_BODY_BYTES + 10) + '"}', 413),
    ("no query at all", "", '{"encrypt": "abc"}', 400),
    ("NUL characters", "?signature=a%00b&timestamp=1&nonce=n", b'{"encrypt": "\\u0000"}\x00', 400),
    ("a NUL in the signature", "?signature=a%00b&timestamp=1&nonce=n", '{"encrypt": "\\u0000"}', 403),
    ("timestamp is not a number", signed("abc", timestamp="1e9"), '{"encrypt": "abc"}', 400),
    ("timestamp has 5000 digits", signed("abc", timestamp="9" * 5000), '{"encrypt": "abc"}', 400),
    ("signature mismatch", QUERY.replace("abc", "0" * 40), '{"encrypt": "abc"}', 403),
    ("signed but not base64", signed("not base64 ☃"), '{"encrypt": "not base64 ☃"}', 400),
    ("signed but not ciphertext", signed("QUJD"), '{"encrypt": "QUJD"}', 400),
]


def post(client, connection, query, body):
    url = reverse("integrations:dingtalk_callback", args=[connection.pk]) + query
    return client.post(url, data=body, content_type="application/json")


@pytest.mark.parametrize(("shape", "query", "body", "status"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_a_hostile_callback_body_is_refused_and_recorded(client, dingtalk, shape, query, body, status):
    response = post(client, dingtalk, query, body)

    assert response.status_code == status
    assert response.json()["errcode"]
    rejected = DingTalkEvent.objects.get()
    assert rejected.outcome == DingTalkEvent.Outcome.REJECTED
    assert rejected.reason
    assert not SyncRecord.objects.exists()


def test_a_signed_plaintext_that_is_not_utf8_is_refused(client, dingtalk, monkeypatch):
    envelope = callback_envelope(TOKEN, AES_KEY, APP_KEY, "x", "1700000000000", "n1")
    monkeypatch.setattr(callbacks, "clock", lambda: 1700000000)
    monkeypatch.setattr(callbacks, "callback_decrypt", lambda *args: b"\xff".decode())

    response = post(client, dingtalk, f"?signature={envelope['msg_signature']}&timestamp=1700000000000&nonce=n1",
                    json.dumps({"encrypt": envelope["encrypt"]}))

    assert response.status_code == 400
    assert DingTalkEvent.objects.get().outcome == DingTalkEvent.Outcome.REJECTED


def test_the_start_of_a_refused_body_is_kept_for_it(client, dingtalk):
    post(client, dingtalk, QUERY, '{"encrypt": 5, "note": "from a scanner"}')

    assert "from a scanner" in DingTalkEvent.objects.get().body["raw"]


def test_only_the_newest_refusals_of_one_address_are_kept(client, dingtalk, monkeypatch):
    monkeypatch.setattr(callbacks, "REJECTED_KEPT_PER_SOURCE", 5)
    for number in range(8):
        post(client, dingtalk, QUERY, json.dumps({"encrypt": number}))
    other = client.post(reverse("integrations:dingtalk_callback", args=[dingtalk.pk]) + QUERY, data="x",
                        content_type="application/json", REMOTE_ADDR="10.0.0.9")

    assert other.status_code == 400
    kept = DingTalkEvent.objects.filter(remote_addr="127.0.0.1")
    assert kept.count() == 5
    assert sorted(json.loads(event.body["raw"])["encrypt"] for event in kept) == [3, 4, 5, 6, 7]
    assert DingTalkEvent.objects.filter(remote_addr="10.0.0.9").count() == 1
