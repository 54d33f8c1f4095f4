"""Stream mode: the sandbox gateway's tickets, frames, acks and redelivery; the portal's client seams."""

import asyncio
import json
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from dingtalk_stream import AckMessage, Credential, DingTalkStreamClient, EventMessage, SystemMessage
from django.utils import timezone
from websockets.sync.client import connect

from integrations import stream
from integrations.models import DingTalkEvent, SyncRecord
from sandbox import roster
from sandbox.dingtalk import events as sandbox_events
from sandbox.dingtalk import stream as gateway_module
from sandbox.dingtalk.models import App, ApprovalInstance, PushedEvent, SandboxSettings, StreamGateway, StreamTicket
from sandbox.dingtalk.seed import seed_dingtalk
from tests.events.pushes import approval_event
from tests.integrations.live import wait_for

Delivery = PushedEvent.Status


@pytest.fixture
def app(db):
    seed_dingtalk(roster.employees(12), instances=6)
    app = App.objects.get()
    app.push_mode = App.PushMode.STREAM
    app.save()
    return app


def stream_event(app, action="agree"):
    instance = ApprovalInstance.objects.select_related("template", "originator").first()
    instance.finish_time = timezone.now()
    [row] = sandbox_events.emit(sandbox_events.INSTANCE_CHANGE, instance,
                                sandbox_events._instance_body(instance, "finish", action))
    return PushedEvent.objects.select_related("app").get(pk=row.pk)


# ---- the gateway's parts -------------------------------------------------------------------------------------


def test_a_ticket_opens_one_connection_within_ninety_seconds(app):
    ticket = gateway_module.issue_ticket(app, [{"type": "EVENT", "topic": "*"}])

    assert gateway_module.redeem_ticket(ticket) == app.pk
    assert gateway_module.redeem_ticket(ticket) is None
    stale = gateway_module.issue_ticket(app, [])
    StreamTicket.objects.filter(ticket=stale).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert gateway_module.redeem_ticket(stale) is None
    assert gateway_module.redeem_ticket("made-up") is None


def test_registration_answers_an_endpoint_and_a_ticket_for_the_apps_credentials(client, app):
    url = "/sandbox/dingtalk/v1.0/gateway/connections/open"
    body = {"clientId": app.app_key, "clientSecret": app.app_secret, "ua": "test", "localIp": "",
            "subscriptions": [{"type": "EVENT", "topic": "*"}]}

    assert client.post(url, body, content_type="application/json").status_code == 503  # no gateway running
    StreamGateway.objects.create(endpoint="ws://127.0.0.1:1/connect")
    answer = client.post(url, body, content_type="application/json").json()
    assert answer["endpoint"] == "ws://127.0.0.1:1/connect" and StreamTicket.objects.filter(ticket=answer["ticket"])
    wrong = client.post(url, {**body, "clientSecret": "nope"}, content_type="application/json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalidClientIdOrSecret"
    topic = client.post(url, {**body, "subscriptions": [{"type": "EVENT", "topic": "bpms"}]},
                        content_type="application/json")
    assert topic.status_code == 400


def test_an_event_frame_is_shaped_as_dingtalk_sends_it_and_the_sdk_reads_it(app):
    event = stream_event(app)

    frame = gateway_module.event_frame(event, "213d841d_972_1898bb26334_70a7")

    headers = frame["headers"]
    assert (frame["specVersion"], frame["type"], headers["topic"]) == ("1.0", "EVENT", "*")
    assert (headers["eventType"], headers["eventId"]) == ("bpms_instance_change", event.event_id)
    data = json.loads(frame["data"])
    assert data["processInstanceId"] == event.process_instance_id and (data["type"], data["result"]) == (
        "finish", "agree")
    assert not set(data) & {"EventType", "eventId", "CorpId", "EventTime"}
    parsed = EventMessage.from_dict(json.loads(json.dumps(frame)))
    assert parsed.headers.event_id == event.event_id and parsed.headers.message_id == "213d841d_972_1898bb26334_70a7"
    assert parsed.data == data


def test_acks_of_both_shapes_count_and_later_or_errors_do_not():
    documented = {"code": 200, "headers": {"messageId": "m"}, "data": json.dumps({"status": "SUCCESS"})}
    sdk = {"code": 200, "headers": {"messageId": "m"}, "message": "OK", "data": json.dumps({"type": "finish"})}
    later = {"code": 200, "headers": {"messageId": "m"}, "data": json.dumps({"status": "LATER"})}
    failed = {"code": 500, "headers": {"messageId": "m"}, "data": "{}"}

    assert [gateway_module.ack_status(f) for f in (documented, sdk, later, failed)] == [
        "SUCCESS", "SUCCESS", "LATER", "LATER"]


def test_an_event_is_claimed_by_one_connection_and_again_when_its_ack_is_late(app):
    event = stream_event(app)

    [first] = gateway_module.claim_events(app.pk, ack_timeout=30)
    assert gateway_module.claim_events(app.pk, ack_timeout=30) == []
    PushedEvent.objects.filter(pk=event.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    [again] = gateway_module.claim_events(app.pk, ack_timeout=30)

    assert first.pk == again.pk == event.pk and first.message_id != again.message_id
    gateway_module.acked(event.pk)
    event.refresh_from_db()
    assert (event.status, event.deliveries, event.attempts) == (Delivery.DELIVERED, 1, 2)


# ---- the gateway on a socket ---------------------------------------------------------------------------------


@pytest.fixture
def gateway(transactional_db):
    server = gateway_module.Gateway("127.0.0.1", 0)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(server.run(ready=lambda _e: ready.set())),
                              daemon=True)
    thread.start()
    assert ready.wait(10)
    yield server
    loop.call_soon_threadsafe(server.stopping.set)
    thread.join(10)


def frames(socket, count, timeout=10):
    return [json.loads(socket.recv(timeout=timeout)) for _ in range(count)]


def ack(socket, frame, status="SUCCESS", code=200):
    socket.send(json.dumps({"code": code, "message": "OK", "data": json.dumps({"status": status}),
                            "headers": {"messageId": frame["headers"]["messageId"],
                                        "contentType": "application/json"}}))


def test_the_gateway_sends_again_what_is_not_acked_or_acked_later_and_keeps_what_is_acked(gateway, app):
    SandboxSettings.objects.update_or_create(pk=1, defaults={"stream_ack_timeout": 0.5, "stream_ping_seconds": 60,
                                                             "event_duplicate_rate": 0})
    event = stream_event(app)
    ticket = gateway_module.issue_ticket(app, [{"type": "EVENT", "topic": "*"}])

    with connect(f"{gateway.endpoint}?ticket={ticket}") as socket:
        [unacked] = frames(socket, 1)
        [resent] = frames(socket, 1)  # no ack within 0.5 s
        ack(socket, resent, status="LATER")
        [later] = frames(socket, 1)
        ack(socket, later)

    ids = {frame["headers"]["eventId"] for frame in (unacked, resent, later)}
    assert ids == {event.event_id} and len({f["headers"]["messageId"] for f in (unacked, resent, later)}) == 3
    delivered = wait_for(lambda: PushedEvent.objects.filter(pk=event.pk, status=Delivery.DELIVERED).first(), 10,
                         message="the ack")
    assert delivered.attempts == 3


def test_the_gateway_refuses_a_used_ticket_and_pings_its_clients(gateway, app):
    SandboxSettings.objects.update_or_create(pk=1, defaults={"stream_ping_seconds": 0.2})
    ticket = gateway_module.issue_ticket(app, [{"type": "EVENT", "topic": "*"}])

    with connect(f"{gateway.endpoint}?ticket={ticket}") as socket:
        [ping] = frames(socket, 1)
        assert (ping["type"], ping["headers"]["topic"]) == ("SYSTEM", "ping")
        socket.send(json.dumps({"code": 200, "headers": {"messageId": ping["headers"]["messageId"]},
                                "message": "OK", "data": ping["data"]}))
        frames(socket, 1)
    with pytest.raises(Exception, match="401"):
        connect(f"{gateway.endpoint}?ticket={ticket}")
    assert StreamGateway.objects.get().pongs >= 1


def test_a_connection_closed_before_the_ack_releases_its_events_at_once(gateway, app):
    SandboxSettings.objects.update_or_create(pk=1, defaults={"stream_ack_timeout": 60, "event_duplicate_rate": 0})
    event = stream_event(app)

    with connect(f"{gateway.endpoint}?ticket={gateway_module.issue_ticket(app, [])}") as socket:
        frames(socket, 1)
    with connect(f"{gateway.endpoint}?ticket={gateway_module.issue_ticket(app, [])}") as socket:
        [again] = frames(socket, 1)
        ack(socket, again)

    assert again["headers"]["eventId"] == event.event_id
    delivered = wait_for(lambda: PushedEvent.objects.filter(pk=event.pk, status=Delivery.DELIVERED).first(), 10,
                         message="the ack")
    assert delivered.attempts == 2


# ---- the portal's client -------------------------------------------------------------------------------------


def test_the_client_registers_at_the_connections_api_host_and_leaves_the_sdk_as_it_was(dingtalk, monkeypatch):
    dingtalk.api_base_url = "http://127.0.0.1:9/sandbox/dingtalk/"
    posted = []

    def post(url, headers=None, data=None):
        posted.append((url, json.loads(data)))
        return SimpleNamespace(text="{}", raise_for_status=lambda: None,
                               json=lambda: {"endpoint": "ws://127.0.0.1:1/connect", "ticket": "t"})

    monkeypatch.setattr("dingtalk_stream.stream.requests.post", post)
    default = DingTalkStreamClient.OPEN_CONNECTION_API

    answer = stream.PortalStreamClient(dingtalk).open_connection()

    assert answer["ticket"] == "t"
    [(url, body)] = posted
    assert url == "http://127.0.0.1:9/sandbox/dingtalk/v1.0/gateway/connections/open"
    assert body["clientId"] == dingtalk.app_key and body["subscriptions"] == [{"type": "EVENT", "topic": "*"}]
    assert DingTalkStreamClient.OPEN_CONNECTION_API == default


def test_reconnecting_backs_off_exponentially_up_to_a_minute():
    class Middle:
        @staticmethod
        def uniform(low, high):
            return 1.0

    assert [stream.backoff(n, Middle) for n in range(9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]


@pytest.mark.django_db(transaction=True)
def test_the_handler_stores_an_event_and_acks_it_or_asks_for_it_again(scheme):
    handler = stream.PortalEventHandler(scheme.source_connection.pk)
    body = approval_event("i-1")
    message = EventMessage.from_dict({"specVersion": "1.0", "type": "EVENT", "data": json.dumps(
        sandbox_events.stream_data(body)), "headers": {"messageId": "m1", "eventId": body["eventId"],
                                                        "eventType": "bpms_instance_change", "topic": "*"}})

    assert asyncio.run(handler.process(message)) == (AckMessage.STATUS_OK, "OK")
    event = DingTalkEvent.objects.get()
    assert (event.channel, event.event_id, event.outcome) == ("stream", body["eventId"], "queued")
    assert SyncRecord.objects.get().source_key == "i-1"
    broken = stream.PortalEventHandler(10**9)
    assert asyncio.run(broken.process(message))[0] == AckMessage.STATUS_SYSTEM_EXCEPTION


def test_the_sdk_answers_a_ping_by_echoing_its_data():
    ping = SystemMessage.from_dict({"specVersion": "1.0", "type": "SYSTEM", "data": json.dumps({"opaque": "x"}),
                                    "headers": {"messageId": "p1", "topic": "ping"}})
    ack_message = asyncio.run(DingTalkStreamClient(Credential("key", "secret")).system_handler.raw_process(ping))

    assert ack_message.to_dict()["code"] == 200 and json.loads(ack_message.to_dict()["data"]) == {"opaque": "x"}
