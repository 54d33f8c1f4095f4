"""The Stream gateway (reference §4.6): the websocket server DingTalk's official `dingtalk-stream` client talks to.

Django's runserver cannot serve websockets, so `manage.py sandbox_stream` runs this asyncio server on a port
of its own and records its address; `POST v1.0/gateway/connections/open` hands that address out with a
single-use ticket. Each connection of an app takes that app's pending Stream events from the outbox (one
connection per event, whichever claims it first), sends them as EVENT frames and marks them delivered on
an ack. An event acked `LATER`, acked with a non-200 code, or not acked in time is sent again. SYSTEM
frames: a `ping` the client must echo, and `disconnect` when the gateway rotates connections.
"""

import asyncio
import json
import logging
import os
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from django.db import close_old_connections, connections
from django.db.models import F, Q
from django.utils import timezone
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from sandbox.dingtalk.events import millis, stream_data
from sandbox.dingtalk.models import App, PushedEvent, SandboxSettings, StreamGateway, StreamTicket

logger = logging.getLogger("sandbox.dingtalk.stream")
Status = PushedEvent.Status
POLL_SECONDS = 0.05
LATER_SECONDS = 1.0
DISCONNECT_GRACE = 1.0  # DingTalk closes the socket about 10 s after a disconnect frame
BATCH = 20
TICKET_LIFETIME = timedelta(seconds=90)


# ---- database side (runs in the gateway's one database thread) --------------------------------------------


def issue_ticket(app, subscriptions):
    return StreamTicket.objects.create(ticket=secrets.token_hex(16), app=app, subscriptions=subscriptions,
                                       expires_at=timezone.now() + TICKET_LIFETIME).ticket


def redeem_ticket(ticket):
    """The app id of a valid ticket, which can never be used again; None otherwise."""
    now = timezone.now()
    row = StreamTicket.objects.filter(ticket=ticket, used_at=None, expires_at__gt=now).first()
    if row is None or not StreamTicket.objects.filter(pk=row.pk, used_at=None).update(used_at=now):
        return None
    return row.app_id


def register_gateway(endpoint):
    StreamGateway.objects.all().delete()
    StreamGateway.objects.create(endpoint=endpoint, pid=os.getpid())


def unregister_gateway(endpoint):
    StreamGateway.objects.filter(endpoint=endpoint).delete()


def current_endpoint():
    gateway = StreamGateway.objects.first()
    return gateway.endpoint if gateway else ""


def knobs():
    """The gateway's settings, read now and then; also when its database connection is checked."""
    close_old_connections()
    settings = SandboxSettings.current()
    return {name: getattr(settings, name) for name in
            ("event_duplicate_rate", "stream_ack_timeout", "stream_ping_seconds", "stream_rotate_seconds")}


def claim_events(app_id, ack_timeout):
    """Due Stream events of the app, each now claimed by the caller until `ack_timeout` passes."""
    now = timezone.now()
    due = Q(app_id=app_id, channel=App.PushMode.STREAM) & (
        Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.PENDING, next_attempt_at=None)
        | Q(status=Status.SENDING, claimed_until__lt=now))
    claimed = []
    for pk in PushedEvent.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:BATCH]:
        message_id = message_id_for(now)
        if PushedEvent.objects.filter(due, pk=pk).update(
                status=Status.SENDING, message_id=message_id, attempts=F("attempts") + 1,
                claimed_until=now + timedelta(seconds=ack_timeout)):
            claimed.append(PushedEvent.objects.select_related("app").get(pk=pk))
    return claimed


def acked(pk):
    PushedEvent.objects.filter(pk=pk).update(status=Status.DELIVERED, delivered_at=timezone.now(),
                                             deliveries=F("deliveries") + 1, claimed_until=None, last_error="")


def retry_later(pk, reason):
    PushedEvent.objects.filter(pk=pk, status=Status.SENDING).update(
        status=Status.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=LATER_SECONDS),
        claimed_until=None, last_error=reason[:2000])


def release(pks):
    """Events sent on a connection that closed before their ack: due again at once."""
    PushedEvent.objects.filter(pk__in=pks, status=Status.SENDING).update(
        status=Status.PENDING, next_attempt_at=timezone.now(), claimed_until=None,
        last_error="connection closed before the ack")


def count(field):
    StreamGateway.objects.update(**{field: F(field) + 1})


def message_id_for(now):
    """Shaped like DingTalk's, e.g. 213d841d_972_1898bb26334_70a7."""
    return f"{secrets.token_hex(4)}_{random.randint(100, 999)}_{millis(now):x}_{secrets.token_hex(2)}"


# ---- frames -------------------------------------------------------------------------------------------------


def event_frame(event, message_id):
    body = event.body
    return {
        "specVersion": "1.0", "type": "EVENT",
        "headers": {
            "appId": event.app.app_key, "contentType": "application/json", "messageId": message_id,
            "time": str(int(time.time() * 1000)), "topic": "*", "eventType": event.event_type,
            "eventId": event.event_id, "eventCorpId": body.get("CorpId", ""),
            "eventBornTime": str(body.get("EventTime", "")), "eventUnifiedAppId": f"sandbox-{event.app.agent_id}",
        },
        "data": json.dumps(stream_data(body), ensure_ascii=False),
    }


def system_frame(topic, data, message_id):
    return {"specVersion": "1.0", "type": "SYSTEM",
            "headers": {"contentType": "application/json", "messageId": message_id,
                        "time": str(int(time.time() * 1000)), "topic": topic},
            "data": json.dumps(data)}


def ack_status(frame):
    """SUCCESS or LATER for an event's ack. Two shapes are in use (reference §4.6): the documented
    `data: {"status": …}`, and the Python SDK's, which echoes the event's own data: code 200 is success."""
    if frame.get("code") != 200:
        return "LATER"
    data = _loads(frame.get("data"))
    return "LATER" if isinstance(data, dict) and data.get("status") == "LATER" else "SUCCESS"


def _loads(text):
    try:
        return json.loads(text or "{}")
    except (TypeError, ValueError):
        return None


# ---- the server ---------------------------------------------------------------------------------------------


class Gateway:
    def __init__(self, host="127.0.0.1", port=0, public_host=None):
        self.host, self.port, self.public_host = host, port, public_host or host
        self.db = ThreadPoolExecutor(1, thread_name_prefix="stream-db")
        self.stopping = asyncio.Event()
        self.endpoint = ""
        self.sessions = set()

    async def call(self, func, *args):
        return await asyncio.get_running_loop().run_in_executor(self.db, func, *args)

    async def run(self, ready=None):
        async with serve(self.handle, self.host, self.port, process_request=self.check_ticket,
                         ping_interval=None) as server:
            port = server.sockets[0].getsockname()[1]
            self.endpoint = f"ws://{self.public_host}:{port}/connect"
            await self.call(register_gateway, self.endpoint)
            if ready:
                ready(self.endpoint)
            await self.stopping.wait()
            for session in list(self.sessions):
                await session.close()
        await self.call(unregister_gateway, self.endpoint)
        await self.call(connections.close_all)
        self.db.shutdown(wait=True)

    async def check_ticket(self, connection, request):
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        app_id = await self.call(redeem_ticket, ticket)
        if app_id is None:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid, used or expired ticket\n")
        connection.app_id = app_id
        return None

    async def handle(self, connection):
        session = Session(self, connection, connection.app_id)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)


class Session:
    """One client connection: sends the app's events, reads acks, pings, rotates."""

    def __init__(self, gateway, connection, app_id):
        self.gateway, self.connection, self.app_id = gateway, connection, app_id
        self.in_flight = {}  # messageId → outbox pk, or "ping"
        self.knobs = {}
        self.rng = random.Random()

    async def run(self):
        self.knobs = await self.gateway.call(knobs)
        await self.gateway.call(count, "sessions")
        workers = [asyncio.create_task(coroutine) for coroutine in (self.send_events(), self.ping(), self.rotate())]
        try:
            async for raw in self.connection:
                await self.on_frame(raw)
        except ConnectionClosed:
            pass
        finally:
            for worker in workers:
                worker.cancel()
            unacked = [pk for pk in self.in_flight.values() if not isinstance(pk, tuple)]
            if unacked:
                await self.gateway.call(release, unacked)

    async def close(self):
        await self.connection.close()

    async def send_events(self):
        while True:
            events = await self.gateway.call(claim_events, self.app_id, self.knobs["stream_ack_timeout"])
            for event in events:
                await self.send_event(event, event.message_id)
                if self.rng.random() < self.knobs["event_duplicate_rate"]:
                    await self.send_event(event, message_id_for(timezone.now()))
            if not events:
                self.knobs = await self.gateway.call(knobs) if self.rng.random() < 0.05 else self.knobs
                await asyncio.sleep(POLL_SECONDS)

    async def send_event(self, event, message_id):
        self.in_flight[message_id] = event.pk
        await self.connection.send(json.dumps(event_frame(event, message_id), ensure_ascii=False))

    async def ping(self):
        while True:
            await asyncio.sleep(self.knobs["stream_ping_seconds"])
            message_id, data = message_id_for(timezone.now()), {"opaque": secrets.token_hex(8)}
            self.in_flight[message_id] = ("ping", data)
            await self.connection.send(json.dumps(system_frame("ping", data, message_id)))

    async def rotate(self):
        if not self.knobs["stream_rotate_seconds"]:
            return
        await asyncio.sleep(self.knobs["stream_rotate_seconds"])
        message_id = message_id_for(timezone.now())
        await self.connection.send(json.dumps(system_frame("disconnect", {"reason": "rotation"}, message_id)))
        await asyncio.sleep(DISCONNECT_GRACE)
        await self.connection.close()

    async def on_frame(self, raw):
        try:
            frame = json.loads(raw)
            message_id = frame["headers"]["messageId"]
        except (TypeError, ValueError, KeyError):
            logger.warning("unreadable frame from a client: %.200s", raw)
            return
        pk = self.in_flight.pop(message_id, None)
        if isinstance(pk, tuple):  # a ping: the answer must echo its data
            if frame.get("code") == 200 and _loads(frame.get("data")) == pk[1]:
                await self.gateway.call(count, "pongs")
        elif pk is not None:
            if ack_status(frame) == "SUCCESS":
                await self.gateway.call(acked, pk)
            else:
                await self.gateway.call(retry_later, pk, f"acked with code {frame.get('code')}: {raw[:300]}")
