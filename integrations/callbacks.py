"""DingTalk's HTTP callback for one connection (reference §4.1–4.2): verify, decrypt and answer a push.

The crypto itself is `integrations.protocol`, shared with the sandbox; this module adds what belongs to the
receiving side: the connection's secrets and receiver id, freshness, replays and the reply.
"""

import hmac
import json
import secrets
import time
from dataclasses import dataclass

from django.conf import settings

from integrations.models import Connection, DingTalkEvent
from integrations.protocol import CallbackCryptoError, callback_decrypt, callback_envelope, callback_signature

clock = time.time  # tests move it to the published vectors' moment


class Refused(Exception):
    """A push that is not answered `success`: `status` is the HTTP status, `code` DingTalk's crypto code."""

    def __init__(self, status, code, reason):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


@dataclass(frozen=True)
class Push:
    signature: str
    timestamp: str
    nonce: str
    encrypt: str

    @classmethod
    def from_request(cls, request):
        """Either spelling of the query (`signature`/`msg_signature`, `timestamp`/`timeStamp`)."""
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        query = request.GET
        return cls(
            signature=query.get("signature") or query.get("msg_signature") or "",
            timestamp=query.get("timestamp") or query.get("timeStamp") or "",
            nonce=query.get("nonce") or "",
            encrypt=(body.get("encrypt") if isinstance(body, dict) else "") or "",
        )


def max_age():
    return settings.DINGTALK_CALLBACK_MAX_AGE


def receiver_id(connection):
    if connection.callback_receiver == Connection.CallbackReceiver.CORP_ID:
        return connection.corp_id
    return connection.app_key


def open_push(connection, push):
    """The decrypted message of a genuine, fresh, first-seen push; raises Refused. A plaintext that is not a
    JSON object (vector A's is the word `success`) comes back as {"plaintext": …}: verified, but no event."""
    if not (push.signature and push.timestamp and push.nonce and push.encrypt):
        raise Refused(400, 900001, "signature, timestamp, nonce and encrypt are all required")
    token, receiver = connection.callback_token, receiver_id(connection)
    if not hmac.compare_digest(callback_signature(token, push.timestamp, push.nonce, push.encrypt), push.signature):
        raise Refused(403, 900005, "signature mismatch")
    try:
        text = callback_decrypt(connection.callback_aes_key, receiver, push.encrypt)
    except CallbackCryptoError as error:
        reason = "receiver id mismatch (AppKey or CorpId)" if error.code == 900010 else str(error)
        raise Refused(403 if error.code == 900010 else 400, error.code, reason) from None
    check_fresh(push.timestamp)
    if DingTalkEvent.objects.filter(connection=connection, signature=push.signature).exclude(
            outcome=DingTalkEvent.Outcome.REJECTED).exists():
        raise Refused(409, 900011, "replay: this signature was already received")
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    return message if isinstance(message, dict) else {"plaintext": text[:2000]}


def check_fresh(timestamp):
    """DingTalk sends seconds or milliseconds; a push older (or later) than the window is a replay."""
    try:
        moment = int(timestamp)
    except ValueError:
        raise Refused(400, 900001, "the timestamp is not a number") from None
    seconds = moment / 1000 if moment > 10**11 else moment
    if abs(clock() - seconds) > max_age():
        raise Refused(403, 900011, f"stale timestamp: more than {max_age()} s from now")


def reply(connection):
    """The encrypted `success` DingTalk expects back, freshly signed."""
    return callback_envelope(connection.callback_token, connection.callback_aes_key, receiver_id(connection),
                             "success", str(int(clock() * 1000)), secrets.token_hex(8))
