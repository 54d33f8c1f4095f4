"""Fixtures shared by the Kingdee sandbox and client tests (imported by their conftest and test modules)."""

import pytest

from sandbox import roster
from sandbox.kingdee.models import KingdeeFaults
from sandbox.kingdee.seed import seed_kingdee
from sandbox.kingdee.views import injector

EMPLOYEES = 12


@pytest.fixture
def people():
    return roster.employees(EMPLOYEES)


@pytest.fixture
def creds(people):
    """Seeds the sandbox Kingdee; the test must have database access."""
    return seed_kingdee(people)


@pytest.fixture
def kd_url(live_server):
    return live_server.url + "/sandbox/kingdee/"


@pytest.fixture(autouse=True)
def fresh_injector():
    injector.log.clear()
    yield
    injector.log.clear()


@pytest.fixture
def faults():
    """Sets fault knobs the way the admin or the `_faults` API does."""

    def set_faults(**knobs):
        settings = KingdeeFaults.current()
        for name, value in knobs.items():
            setattr(settings, name, value)
        settings.save()
        injector.reset(settings)
        return settings

    return set_faults
