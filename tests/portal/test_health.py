from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from portal.models import Heartbeat
from portal.tasks import beat


@pytest.mark.django_db
def test_healthz_reports_database_and_worker(client):
    beat()
    body = client.get("/healthz").json()
    assert body["database"] == "ok"
    assert body["worker"]["status"] == "ok"


@pytest.mark.django_db
def test_healthz_reports_a_stale_worker(client):
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(minutes=10))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["worker"]["status"] == "stale"


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    from portal import views

    def unreachable():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(views.connection, "cursor", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
