"""HTTP push (reference §4.1–4.2): outbox events posted to the app's callback URL, encrypted, at least once.

A few threads deliver what a commit just queued; a sweeper retries failures (1 s, 2 s, 5 s … then gives up)
and takes over events a dead process left half-sent. With SANDBOX_PUSH_PROCESS the web process only writes the
outbox and `manage.py sandbox_push` delivers it (`serve`): a benchmark's push then has a process of its own
instead of sharing one interpreter with the API it measures. The portal's answer must be the encrypted `success`;
anything else is a failure. Some deliveries are repeated on purpose (`event_duplicate_rate`), as DingTalk's
at-least-once delivery does.
"""

import json
import logging
import queue
import random
import secrets
import threading
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.db import connections
from django.db.models import F, Q
from django.utils import timezone

from integrations.protocol import CallbackCryptoError, callback_decrypt, callback_envelope, callback_signature
from sandbox.dingtalk.models import App, PushedEvent, SandboxSettings

logger = logging.getLogger("sandbox.dingtalk.push")
Status = PushedEvent.Status
RETRY_DELAYS = (1, 2, 5, 10, 30, 60)  # seconds after the 1st, 2nd … failed attempt; then it fails for good
CLAIM = timedelta(seconds=30)
TIMEOUT = (2, 5)
CHECK_URL_DEADLINE_MS = 1500
SWEEP_SECONDS = 1.0
SERVE_POLL_SECONDS = 0.05


def post(app, message, url=None, rng=random):
    """POST one encrypted message the way DingTalk does; returns (error text or "", elapsed ms)."""
    timestamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(4)
    envelope = callback_envelope(app.callback_token, app.callback_aes_key, app.app_key, message, timestamp, nonce)
    # Both spellings of the query occur in the wild (reference §4.1); the portal must read either.
    names = ("signature", "timestamp") if rng.random() < 0.5 else ("msg_signature", "timeStamp")
    query = {names[0]: envelope["msg_signature"], names[1]: timestamp, "nonce": nonce}
    started = time.monotonic()
    try:
        response = _session().post(url or app.callback_url, params=query, json={"encrypt": envelope["encrypt"]},
                                   timeout=TIMEOUT)
    except requests.RequestException as error:
        return f"{type(error).__name__}: {error}", _since(started)
    return reply_error(app, response), _since(started)


_sessions = threading.local()


def _session():
    """One keep-alive session per sending thread, as a gateway keeps its connections: a new TCP connection
    (and connection pool) for every push cost the sandbox more CPU than the push itself."""
    if not hasattr(_sessions, "session"):
        _sessions.session = requests.Session()
    return _sessions.session


def reply_error(app, response):
    """"" when the answer is the encrypted `success` with a valid signature, else what is wrong with it."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        reply = response.json()
        signature = callback_signature(app.callback_token, reply["timeStamp"], reply["nonce"], reply["encrypt"])
        if signature != reply["msg_signature"]:
            return "the reply's msg_signature is wrong"
        text = callback_decrypt(app.callback_aes_key, app.app_key, reply["encrypt"])
    except (ValueError, KeyError, TypeError, CallbackCryptoError) as error:
        return f"the reply is not an encrypted answer: {error}"
    return "" if text == "success" else f"the reply decrypts to {text[:50]!r}, not 'success'"


def verify_url(app, url):
    """The console's check when the URL is saved: check_url answered with `success` within 1500 ms."""
    error, elapsed = post(app, json.dumps({"EventType": "check_url"}), url=url)
    if not error and elapsed > CHECK_URL_DEADLINE_MS:
        error = f"answered in {elapsed} ms; DingTalk waits at most {CHECK_URL_DEADLINE_MS} ms"
    return {"ok": not error, "error": error, "elapsed_ms": elapsed}


def deliver(event_id, rng=random):
    """Claim one due HTTP event, post it (twice, now and then), and record the outcome."""
    now = timezone.now()
    claim = now + CLAIM  # also this attempt's mark: a redelivery asked for meanwhile clears it
    claimed = PushedEvent.objects.filter(due(now), event_id=event_id).update(
        status=Status.SENDING, claimed_until=claim, attempts=F("attempts") + 1)
    if not claimed:
        return None
    event = PushedEvent.objects.select_related("app").get(event_id=event_id)
    message = json.dumps(event.body, ensure_ascii=False, separators=(",", ":"))
    error, _elapsed = post(event.app, message, rng=rng)
    ours = PushedEvent.objects.filter(pk=event.pk, status=Status.SENDING, claimed_until=claim)
    if error:
        return _failed(event, ours, error)
    deliveries = 1
    if rng.random() < SandboxSettings.current().event_duplicate_rate:
        deliveries += not post(event.app, message, rng=rng)[0]
    delivered = {"delivered_at": timezone.now(), "deliveries": F("deliveries") + deliveries}
    if not ours.update(status=Status.DELIVERED, claimed_until=None, last_error="", **delivered):
        # Asked to send it again while this attempt was out (redeliver): the delivery counts, the request stays.
        PushedEvent.objects.filter(pk=event.pk).update(**delivered)
    return Status.DELIVERED


def _failed(event, ours, error):
    attempts = event.attempts
    if attempts > len(RETRY_DELAYS):
        status, next_at = Status.FAILED, None
    else:
        status, next_at = Status.PENDING, timezone.now() + timedelta(seconds=RETRY_DELAYS[attempts - 1])
    ours.update(status=status, next_attempt_at=next_at, claimed_until=None, last_error=error[:2000])
    logger.warning("push of event %s failed (attempt %d): %s", event.event_id, attempts, error)
    return status


def due(now):
    """HTTP events ready for an attempt: pending and due, or claimed by a sender that never finished."""
    return Q(channel=App.PushMode.HTTP) & (
        Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.PENDING, next_attempt_at=None)
        | Q(status=Status.SENDING, claimed_until__lt=now))


def redeliver(event_ids):
    """Send these events again, in this order (tests use it for duplicated and out-of-order delivery)."""
    now = timezone.now()
    for event_id in event_ids:
        PushedEvent.objects.filter(event_id=event_id).update(status=Status.PENDING, next_attempt_at=now,
                                                             claimed_until=None)
    http = list(PushedEvent.objects.filter(event_id__in=event_ids, channel=App.PushMode.HTTP)
                .values_list("event_id", flat=True))
    for event_id in [e for e in event_ids if e in http]:
        deliver(event_id)
    return len(event_ids)


def _since(started):
    return round((time.monotonic() - started) * 1000)


class Pusher:
    """Delivery threads of this process, started by the first event it queues."""

    def __init__(self):
        self.queue = queue.Queue()
        self.queued = set()  # ids in the queue: the sweeper does not queue them a second time
        self.lock = threading.Lock()
        self.sweeping = False
        self.threads = []
        self.rng = random.Random()

    def wake(self, event_ids=()):
        if settings.SANDBOX_PUSH_PROCESS:
            return  # `sandbox_push` finds them in the outbox
        self._start()
        self._put(event_ids)

    def _start(self, sweep=True):
        with self.lock:
            if not self.threads:
                self.threads = [threading.Thread(target=self._work, name=f"dingtalk-push-{n}", daemon=True)
                                for n in range(settings.SANDBOX_PUSH_THREADS)]
                for thread in self.threads:
                    thread.start()
            if sweep and not self.sweeping:
                self.sweeping = True
                threading.Thread(target=self._sweep, name="dingtalk-push-sweep", daemon=True).start()

    def serve(self, stopping, poll=SERVE_POLL_SECONDS):
        """`sandbox_push`: deliver every due event of the outbox (new ones within `poll` seconds, retries when
        due) until `stopping` is set."""
        self._start(sweep=False)
        try:
            while not stopping.wait(poll):
                self._put(list(PushedEvent.objects.filter(due(timezone.now())).order_by("pk")
                               .values_list("event_id", flat=True)[:500]))
        finally:
            connections.close_all()

    def _put(self, event_ids):
        with self.lock:
            event_ids = [event_id for event_id in event_ids if event_id not in self.queued]
            self.queued.update(event_ids)
        for event_id in event_ids:
            self.queue.put(event_id)

    def _work(self):
        for event_id in iter(self.queue.get, None):
            with self.lock:
                self.queued.discard(event_id)
            try:
                deliver(event_id, self.rng)
            except Exception:  # noqa: BLE001 (a delivery thread must survive; the sweeper retries)
                logger.exception("delivering event %s crashed", event_id)
                connections.close_all()  # a broken connection is not reused
            else:
                if self.queue.empty():  # idle: let go of the database (kept through a burst, not one per push)
                    connections.close_all()

    def _sweep(self):
        """Queue retries as they fall due; stop when nothing is left to deliver (wake starts it again)."""
        try:
            while True:
                time.sleep(SWEEP_SECONDS)
                if settings.SANDBOX_PUSH_PROCESS:  # `sandbox_push` delivers; this process only writes
                    with self.lock:
                        self.sweeping = False
                    return
                now = timezone.now()
                due_ids = list(PushedEvent.objects.filter(due(now)).values_list("event_id", flat=True)[:200])
                self._put(due_ids)
                waiting = PushedEvent.objects.filter(channel=App.PushMode.HTTP,
                                                     status__in=[Status.PENDING, Status.SENDING]).exists()
                connections.close_all()
                if not waiting:
                    with self.lock:
                        self.sweeping = False
                    return
        except Exception:  # noqa: BLE001
            logger.exception("the push sweeper stopped")
            with self.lock:
                self.sweeping = False
        finally:
            connections.close_all()


pusher = Pusher()
