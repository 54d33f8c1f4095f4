"""The org sync against the sandboxes on the live server: a small seeded company, its connections, the clients."""

from dataclasses import dataclass

import pytest
import requests
from django.core.cache import cache

from devtools import demo
from integrations.clients import client_for
from tests.integrations.live import faultless

PEOPLE = 12


@dataclass
class World:
    base_url: str
    dingtalk: object  # Connection
    kingdee: object
    credentials: dict

    def door(self, **change):
        """POST one change to the DingTalk sandbox's contacts door; returns its answer."""
        response = requests.post(f"{self.base_url}/sandbox/dingtalk/_contacts", json=change, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def clients(self):
        return client_for(self.dingtalk), client_for(self.kingdee)


@pytest.fixture
def world(live_server, transactional_db):
    cache.clear()  # what the comparisons remember of an org (contacts.Sweep) belongs to one test's company
    # Seeded before the faults are reset: the reset writes the sandbox's settings row, and a seed into a sandbox
    # that is not empty runs in full (tests/seed_memo.py) instead of being copied from the first one.
    credentials = demo.seed_sandbox(instances=0, employees=PEOPLE)
    with faultless(live_server.url) as base_url:
        dingtalk, _robot, kingdee = demo.sandbox_connections(base_url, credentials)
        for connection in (dingtalk, kingdee):
            connection.rate_limit, connection.max_concurrency = 100.0, 4
            connection.save()
        yield World(base_url, dingtalk, kingdee, credentials)
