"""Building DingTalk pushes the way DingTalk does, for the portal's callback endpoint."""

import json
import secrets
import time

from django.urls import reverse

from integrations.protocol import callback_decrypt, callback_envelope, callback_signature
from tests.integrations.fakes import PROCESS_CODE

TOKEN = "sandboxToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_KEY = "dingappkey0000001"
CORP_ID = "dingcorp0000000001"


def approval_event(instance_id, kind="finish", result="agree", event_id=None, process_code=PROCESS_CODE,
                   event_type="bpms_instance_change"):
    body = {"EventType": event_type, "EventTime": int(time.time() * 1000), "CorpId": "dingcorp",
            "eventId": event_id or secrets.token_hex(16), "processInstanceId": instance_id,
            "processCode": process_code, "type": kind, "staffId": "u1", "title": "张伟提交的费用报销"}
    if result:
        body["result"] = result
    return body


def push(client, connection, message, *, token=TOKEN, aes_key=AES_KEY, receiver=APP_KEY, timestamp=None,
         nonce=None, spelling=("signature", "timestamp"), signature=None):
    """POST one encrypted push; returns (response, query, body) so a test can send it again."""
    timestamp = timestamp or str(int(time.time() * 1000))
    nonce = nonce or secrets.token_hex(4)
    text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
    envelope = callback_envelope(token, aes_key, receiver, text, timestamp, nonce)
    query = {spelling[0]: signature or envelope["msg_signature"], spelling[1]: timestamp, "nonce": nonce}
    body = {"encrypt": envelope["encrypt"]}
    return send(client, connection, query, body), query, body


def send(client, connection, query, body):
    url = reverse("integrations:dingtalk_callback", args=[connection.pk])
    query_string = "&".join(f"{name}={value}" for name, value in query.items())
    return client.post(f"{url}?{query_string}", data=json.dumps(body), content_type="application/json")


def reply_text(reply, token=TOKEN, aes_key=AES_KEY, receiver=APP_KEY):
    """What the portal's answer decrypts to, after checking its signature."""
    assert set(reply) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert callback_signature(token, reply["timeStamp"], reply["nonce"], reply["encrypt"]) == reply["msg_signature"]
    return callback_decrypt(aes_key, receiver, reply["encrypt"])
