"""Stream mode (reference §4.6): DingTalk's official `dingtalk-stream` client, one per DingTalk connection,
feeding the same event handler as the HTTP callback (`events.receive`).

The SDK speaks the protocol unchanged (registration body, frames, acks, SYSTEM ping and disconnect). Two seams:

- Registration URL. `DingTalkStreamClient.open_connection()` posts to the class attribute
  `DingTalkStreamClient.OPEN_CONNECTION_API`, read through the class name, so a subclass attribute does not
  reach it (and `dingtalk_stream.utils.DINGTALK_OPENAPI_ENDPOINT` is read from the environment once, at
  import: one host per process). `PortalStreamClient.open_connection` points that attribute at the
  connection's `api_base_url` for the duration of the SDK's own synchronous call, under a lock.
- The connection loop. The SDK's `start()` retries forever with fixed sleeps and has no way to stop;
  `PortalStreamClient.run()` reuses its frame handling (`background_task`, `keepalive`) in a loop that backs
  off exponentially with jitter, starts over after a good connection, and ends when asked (SIGTERM).
"""

import asyncio
import json
import logging
import random
import threading
from urllib.parse import quote_plus

import dingtalk_stream
import websockets
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from dingtalk_stream import AckMessage, Credential, DingTalkStreamClient

from integrations import events
from integrations.models import Connection

logger = logging.getLogger("integrations.stream")
sdk_logger = logging.getLogger("integrations.stream.sdk")
OPEN_PATH = "v1.0/gateway/connections/open"
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0
_open_lock = threading.Lock()


class _QuietPings(logging.Filter):
    """SDK 0.24 logs every SYSTEM ping (which it answers correctly) as an "unknown message topic" warning."""

    def filter(self, record):
        return "topic=ping" not in record.getMessage()


sdk_logger.addFilter(_QuietPings())


def open_url(connection):
    return (connection.api_base_url or "https://api.dingtalk.com/").rstrip("/") + "/" + OPEN_PATH


def backoff(failures, rng=random):
    """Seconds to wait after `failures` failed attempts in a row: 1, 2, 4 … 60, with ±25 % jitter."""
    if failures <= 0:
        return 0.0
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1)) * rng.uniform(0.75, 1.25)


def receive_frame(connection_id, headers, data):
    """One frame, handled the way Django handles a request: stale database connections closed around it."""
    close_old_connections()
    try:
        connection = Connection.objects.get(pk=connection_id)
        return events.receive(connection, events.from_stream(headers, data))
    finally:
        close_old_connections()


class PortalEventHandler(dingtalk_stream.EventHandler):
    """Every EVENT frame is kept and handled like a callback; acked SUCCESS once stored, else answered 500
    so that the gateway delivers it again."""

    def __init__(self, connection_id):
        super().__init__()
        self.connection_id = connection_id
        self.received = 0

    async def process(self, event):
        try:
            await sync_to_async(receive_frame)(self.connection_id, event.headers, event.data)
        except Exception:  # noqa: BLE001 (not acked: DingTalk redelivers it)
            logger.exception("stream event %s of connection %s not stored", event.headers.event_id,
                             self.connection_id)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "not stored"
        self.received += 1
        return AckMessage.STATUS_OK, "OK"


class PortalStreamClient(DingTalkStreamClient):
    def __init__(self, connection):
        super().__init__(Credential(connection.app_key, connection.app_secret), logger=sdk_logger)
        self.name = connection.name
        self.url = open_url(connection)
        self.handler = PortalEventHandler(connection.pk)
        self.register_all_event_handler(self.handler)
        self.connected = 0

    def open_connection(self):
        with _open_lock:
            default, DingTalkStreamClient.OPEN_CONNECTION_API = DingTalkStreamClient.OPEN_CONNECTION_API, self.url
            try:
                return super().open_connection()
            finally:
                DingTalkStreamClient.OPEN_CONNECTION_API = default

    def get_host_ip(self):
        """The SDK finds it by routing a UDP socket to 8.8.8.8; the field is informative only."""
        return ""

    async def run(self, stopping):
        self.pre_start()
        failures = 0
        while not stopping.is_set():
            if await self.session(stopping):
                failures = 0
            else:
                failures += 1
            delay = backoff(failures) if failures else 0.2
            try:
                await asyncio.wait_for(stopping.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def session(self, stopping):
        """Register, connect and read frames until the socket closes; True if a connection was made."""
        ticket = await asyncio.to_thread(self.open_connection)
        if not ticket:
            return False
        uri = f'{ticket["endpoint"]}?ticket={quote_plus(ticket["ticket"])}'
        try:
            websocket = await websockets.connect(uri)
        except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as error:
            logger.warning("stream of %s could not connect to %s: %s", self.name, ticket["endpoint"], error)
            return False
        async with websocket:
            self.websocket = websocket
            self.connected += 1
            logger.info("stream of %s connected to %s", self.name, ticket["endpoint"])
            await self.read(websocket, stopping)
        return True

    async def read(self, websocket, stopping):
        background = set()
        keepalive = asyncio.create_task(self.keepalive(websocket))
        stopper = asyncio.create_task(stopping.wait())
        try:
            async for raw in _frames(websocket, stopper):
                task = asyncio.create_task(self.background_task(json.loads(raw)))
                background.add(task)
                task.add_done_callback(background.discard)
        finally:
            keepalive.cancel()
            stopper.cancel()
            if background:
                await asyncio.wait(background, timeout=10)


async def _frames(websocket, stopper):
    """The socket's messages until it closes or `stopper` finishes."""
    while True:
        receive = asyncio.create_task(websocket.recv())
        done, _pending = await asyncio.wait({receive, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if receive not in done:
            receive.cancel()
            return
        try:
            yield receive.result()
        except websockets.exceptions.ConnectionClosed:
            return
