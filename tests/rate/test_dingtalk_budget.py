"""The DingTalk client against the live sandbox with the shared stores: one token fetch for many callers, the
monthly quota counted per app, a finished instance read once, the dashboard card and the robot's warning."""

import threading

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from integrations import quota
from integrations.clients import client_for, dingtalk
from integrations.models import Alert, Connection, MonthlyQuota
from sandbox.dingtalk.models import ApprovalInstance, RobotMessage
from sandbox.dingtalk.views.gate import injector
from tests.integrations.live import build_world, faultless

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(live_server, shared_budgets):
    cache.clear()  # the instances are seeded under the same ids in every test
    with faultless(live_server.url) as base_url:
        scheme = build_world(base_url, instances=20)
        injector.log.clear()
        yield scheme


def in_threads(count, work):
    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def finished_instance():
    return ApprovalInstance.objects.filter(status="COMPLETED").order_by("pk").first().process_instance_id


def test_many_callers_fetch_the_app_token_once(world, monkeypatch):
    # Each call gets a lock of its own, as separate processes would: only the shared cache makes them wait.
    monkeypatch.setattr(dingtalk, "_lock_for", lambda key: threading.Lock())
    connection = world.source_connection
    in_threads(8, lambda: client_for(connection).get_department(1))
    assert len(injector.log.entries("oauth2/accessToken", "ok")) + len(injector.log.entries("gettoken", "ok")) == 1


def test_a_finished_instance_is_read_once_by_every_caller(world):
    connection, key = world.source_connection, finished_instance()
    in_threads(4, lambda: client_for(connection).get_instance(key))
    client_for(connection).get_instance(key)
    assert injector.log.read_counts() == {key: 1}


def test_only_quota_calls_are_counted_per_app(world):
    connection = world.source_connection
    client = client_for(connection)
    client.get_department(1)  # contacts are free
    client.get_instance(finished_instance())
    assert quota.usage(connection).used == 1


def test_the_dashboard_shows_the_month_so_far_and_its_forecast(world, admin_client):
    connection = world.source_connection
    MonthlyQuota.objects.create(connection=connection, calls_per_month=10)
    client = client_for(connection)
    for instance in ApprovalInstance.objects.filter(status="COMPLETED")[:9]:
        client.get_instance(instance.process_instance_id)
    page = admin_client.get(reverse("admin:integrations_dashboard")).content.decode()
    assert f'id="quota-{connection.pk}"' in page and "9 / 10 (90%)" in page


def test_the_schemes_robot_is_warned_once_a_month(world):
    connection = world.source_connection
    MonthlyQuota.objects.create(connection=connection, calls_per_month=4, alert_percent=50)
    world.alert_connection = Connection.objects.get(kind=Connection.Kind.DINGTALK_ROBOT)
    world.save()
    client = client_for(connection)
    for instance in ApprovalInstance.objects.filter(status="COMPLETED")[:3]:
        client.get_instance(instance.process_instance_id)
    quota.check_quotas()
    quota.check_quotas()
    alert = Alert.objects.get(kind=Alert.Kind.QUOTA)
    assert alert.status == Alert.Status.SENT and "3" in alert.text
    assert RobotMessage.objects.count() == 1
    assert MonthlyQuota.objects.get(connection=connection).alerted_month == dingtalk.quota_month(timezone.now())
