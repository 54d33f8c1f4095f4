"""Wire-level cryptography that the portal and the sandbox must agree on byte for byte.

Standard library and `cryptography` only: the sandbox imports this module, and
nothing else of `integrations`. Facts and test vectors: ../shared/reference/
dingtalk-api.md §4.2–4.3 and §6.2, kingdee-webapi.md §4 and §8.
"""

import base64
import hashlib
import hmac
import json
import os
import struct
from urllib.parse import quote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# --- DingTalk HTTP callback (event push) ------------------------------------------------

CALLBACK_BLOCK = 32  # DingTalk pads to 32 bytes, not AES's 16


class CallbackCryptoError(ValueError):
    """A callback that fails verification; `code` follows the official libraries (900005, 900010 …)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def callback_signature(token, timestamp, nonce, encrypt):
    return hashlib.sha1("".join(sorted([token, str(timestamp), str(nonce), encrypt])).encode()).hexdigest()


def _callback_cipher(aes_key):
    try:
        key = base64.b64decode(aes_key + "=")
    except ValueError as exc:
        raise CallbackCryptoError(900004, "invalid aes key") from exc
    if len(key) != 32:
        raise CallbackCryptoError(900004, "invalid aes key")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def callback_encrypt(aes_key, receiver_id, message, random16=None):
    body = message.encode()
    prefix = (random16 or os.urandom(8).hex()).encode()
    raw = prefix + struct.pack(">I", len(body)) + body + receiver_id.encode()
    pad = CALLBACK_BLOCK - len(raw) % CALLBACK_BLOCK
    raw += bytes([pad]) * pad
    encryptor = _callback_cipher(aes_key).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def callback_decrypt(aes_key, receiver_id, encrypted):
    decryptor = _callback_cipher(aes_key).decryptor()
    try:
        raw = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    except ValueError as exc:
        raise CallbackCryptoError(900007, "cannot decrypt") from exc
    pad = raw[-1] if raw else 0
    if not 1 <= pad <= CALLBACK_BLOCK or len(raw) < 20 + pad:
        raise CallbackCryptoError(900007, "bad padding")
    raw = raw[:-pad]
    (length,) = struct.unpack(">I", raw[16:20])
    if raw[20 + length :].decode(errors="replace") != receiver_id:
        raise CallbackCryptoError(900010, "receiver id mismatch")
    return raw[20 : 20 + length].decode()


def callback_envelope(token, aes_key, receiver_id, message, timestamp, nonce, random16=None):
    """What DingTalk posts (and what the receiver answers): encrypt plus its signature."""
    encrypt = callback_encrypt(aes_key, receiver_id, message, random16)
    return {
        "msg_signature": callback_signature(token, timestamp, nonce, encrypt),
        "timeStamp": str(timestamp),
        "nonce": str(nonce),
        "encrypt": encrypt,
    }


def callback_open(token, aes_key, receiver_id, signature, timestamp, nonce, encrypt):
    """Verify and decrypt one pushed callback body; raises CallbackCryptoError."""
    expected = callback_signature(token, timestamp, nonce, encrypt)
    if not hmac.compare_digest(expected, signature or ""):
        raise CallbackCryptoError(900005, "signature mismatch")
    return json.loads(callback_decrypt(aes_key, receiver_id, encrypt))


# --- DingTalk custom group robot -------------------------------------------------------


def robot_sign(secret, timestamp_ms):
    """base64(HmacSHA256(secret, "{timestamp}\\n{secret}")), not yet URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- Kingdee WebAPI, SDK 8.2.0 stateless header signature -------------------------------

KINGDEE_XOR_KEY = b"0054f397c6234378b09ca7d3e5debce7"


def _kd_hmac(message, key):
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def kingdee_client_secret(app_id):
    parts = app_id.split("_")
    if len(parts) != 2 or len(parts[1]) != 32:
        return ""
    try:
        raw = base64.b64decode(parts[1])
    except ValueError:
        return ""
    return base64.b64encode(bytes(b ^ KINGDEE_XOR_KEY[i] for i, b in enumerate(raw))).decode()


def kingdee_path_for_signature(url):
    """The SDK signs the URL from the first "/" at or after character 10."""
    return url[url.index("/", 10) :]


def kingdee_api_signature(path, nonce, timestamp, app_id):
    encoded = quote(path).replace("/", "%2F")
    text = f"POST\n{encoded}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n"
    return _kd_hmac(text, kingdee_client_secret(app_id))


def kingdee_appdata(acct_id, username, lcid, org_number):
    return f"{acct_id},{username},{lcid},{org_number}"


def kingdee_kd_signature(app_id, appdata_plain, app_secret):
    return _kd_hmac(app_id + appdata_plain, app_secret)


def kingdee_headers(url, acct_id, username, app_id, app_secret, lcid, org_number, timestamp):
    """The signed headers SDK 8.2.0 sends with every request (reference §4.2)."""
    appdata = kingdee_appdata(acct_id, username, lcid, org_number)
    timestamp = str(timestamp)
    return {
        "X-Api-ClientID": app_id.split("_")[0] if len(app_id.split("_")) == 2 else "",
        "X-Api-Auth-Version": "2.0",
        "x-api-timestamp": timestamp,
        "x-api-nonce": timestamp,
        "x-api-signheaders": "x-api-timestamp,x-api-nonce",
        "X-Api-Signature": kingdee_api_signature(kingdee_path_for_signature(url), timestamp, timestamp, app_id),
        "X-Kd-Appkey": app_id,
        "X-Kd-Appdata": base64.b64encode(appdata.encode()).decode(),
        "X-Kd-Signature": kingdee_kd_signature(app_id, appdata, app_secret),
    }


def parse_kingdee_appdata(encoded):
    """(acct_id, username, lcid, org_number) from X-Kd-Appdata; user names may contain commas."""
    parts = base64.b64decode(encoded).decode().split(",")
    if len(parts) < 4:
        raise ValueError("X-Kd-Appdata needs acct, user, lcid and org")
    return parts[0], ",".join(parts[1:-2]), parts[-2], parts[-1]


# --- Kingdee third-party login (SSO `ud` link) and LoginBySign --------------------------

SIGNATURE_ALGORITHMS = ("sha256", "sha1")


def kingdee_signeddata(dbid, username, app_id, app_secret, timestamp, algorithm="sha256", extra=()):
    """Hash of the ordinally sorted parts; Python's sort equals .NET's ordinal sort for BMP text."""
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise ValueError(f"unsupported signature algorithm {algorithm!r}")
    parts = sorted([dbid, username, app_id, app_secret, str(timestamp), *extra])
    return hashlib.new(algorithm, "".join(parts).encode("utf-8")).hexdigest()
