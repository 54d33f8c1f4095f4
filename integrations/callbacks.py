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

from integrations import events, reasons
from integrations.models import Connection, DingTalkEvent
from integrations.protocol import CallbackCryptoError, callback_decrypt, callback_envelope, callback_signature

clock = time.time  # tests move it to the published vectors' moment

# DingTalk's pushes are a few KB of ciphertext; anything far larger is not DingTalk.
MAX_BODY_BYTES = 256 * 1024
# Refusals are recorded, but a stranger posting junk in a loop must not fill the database.
REJECTED_KEPT_PER_SOURCE = 200
BODY_KEPT_CHARS = 2000


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
    def from_request(cls, request, body):
        """Either spelling of the query (`signature`/`msg_signature`, `timestamp`/`timeStamp`); raises Refused
        for a body that is not a JSON object with a text `encrypt`."""
        try:
            data = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            raise Refused(400, 900001, "the body is not JSON") from None
        encrypt = data.get("encrypt", "") if isinstance(data, dict) else None
        if not isinstance(encrypt, str):
            raise Refused(400, 900001, "the body must be a JSON object whose encrypt is text")
        query = request.GET
        return cls(
            signature=query.get("signature") or query.get("msg_signature") or "",
            timestamp=query.get("timestamp") or query.get("timeStamp") or "",
            nonce=query.get("nonce") or "",
            encrypt=encrypt,
        )


def read_body(request):
    """The raw body, refused (413) past MAX_BODY_BYTES without reading the rest."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        raise Refused(413, 900001, f"the body is larger than {MAX_BODY_BYTES} bytes")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, 900001, f"the body is larger than {MAX_BODY_BYTES} bytes")
    return body


def record_refusal(connection, refusal, signature, address, body=b""):
    """Keep the refused delivery with the start of its body, and only the newest few per sending address."""
    event = events.reject(connection, DingTalkEvent.Channel.CALLBACK,
                          reasons.because("callback_refused", message=f"{refusal.code} {refusal.reason}"),
                          signature.replace("\x00", ""), address)  # PostgreSQL stores no NUL in text
    kept = {"raw": body[:BODY_KEPT_CHARS].decode(errors="replace").replace("\x00", "")} if body else None
    rejected = DingTalkEvent.objects.filter(connection=connection, outcome=DingTalkEvent.Outcome.REJECTED,
                                            remote_addr=address)
    if kept:
        rejected.filter(pk=event.pk).update(body=kept)
    oldest_kept = rejected.order_by("-pk").values_list("pk", flat=True)[REJECTED_KEPT_PER_SOURCE - 1:][:1]
    if oldest_kept:
        rejected.filter(pk__lt=oldest_kept[0]).delete()
    return event


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
    except ValueError:  # a plaintext that is not UTF-8
        raise Refused(400, 900007, "cannot decrypt") from None
    check_fresh(push.timestamp)
    # `signature != ''` repeated from the partial index's condition: SQLite uses the index only when the query
    # states it, and otherwise reads every event the connection ever received, on every push.
    if DingTalkEvent.objects.filter(connection=connection, signature=push.signature).exclude(signature="").exclude(
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
