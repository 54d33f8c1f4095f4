"""Fixtures shared by the DingTalk sandbox tests and the DingTalk client tests (import them by name)."""

import pytest
from django.core.cache import cache

from sandbox import roster
from sandbox.dingtalk.seed import seed_dingtalk
from sandbox.dingtalk.views.gate import injector, reset_counters

PEOPLE = 24
INSTANCES = 40


@pytest.fixture
def seeded(db):
    """A small seeded sandbox; returns the credentials dict of `seed_dingtalk`."""
    cache.clear()
    injector.log.clear()
    reset_counters()
    return seed_dingtalk(roster.employees(PEOPLE), seed=roster.DEFAULT_SEED, instances=INSTANCES, days=90)


def sandbox_url(live_server):
    return f"{live_server.url}/sandbox/dingtalk/"


def make_client(live_server, credentials, **options):
    from integrations.clients.dingtalk import DingTalkClient

    app = credentials["dingtalk"]
    settings = {"rate_limit": None, "max_concurrency": 8, "connect_timeout": 2, "read_timeout": 5, "name": "test",
                "app_key": app["app_key"], "app_secret": app["app_secret"], "agent_id": app["agent_id"],
                "corp_id": app["corp_id"], "legacy_approvals": False, **options}
    return DingTalkClient(base_url=sandbox_url(live_server), api_base_url=sandbox_url(live_server), **settings)
