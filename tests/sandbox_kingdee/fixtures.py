"""Fixtures shared by the Kingdee sandbox and client tests (imported by their conftest and test modules)."""

import json

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


SERVICE = "/sandbox/kingdee/Kingdee.BOS.WebApi.ServicesStub.{}.common.kdsvc"


class WebApi:
    """Posts WebAPI requests through Django's test client, which keeps the session cookies."""

    def __init__(self, client):
        self.client = client

    def post(self, service, body, **headers):
        response = self.client.post(SERVICE.format(service), data=json.dumps(body, ensure_ascii=False),
                                    content_type="application/json", headers=headers)
        return response.json()

    def login(self, kingdee):
        return self.post("AuthService.ValidateUser", {"acctID": kingdee["acct_id"], "username": kingdee["username"],
                                                      "password": kingdee["password"], "lcid": 2052})

    def save(self, model, form="AP_PAYBILL", service="Save", **options):
        return self.post(f"DynamicFormService.{service}", {"formid": form, "data": {**options, "Model": model}})

    def operate(self, operation, numbers, form="AP_PAYBILL"):
        return self.post(f"DynamicFormService.{operation}", {"formid": form, "data": {"Numbers": numbers}})

    def query(self, form, keys, filter_string="", **extra):
        data = {"FormId": form, "FieldKeys": keys, "FilterString": filter_string, **extra}
        return self.post("DynamicFormService.ExecuteBillQuery", {"data": data})


@pytest.fixture
def webapi(client):
    return WebApi(client)


@pytest.fixture
def api(webapi, creds):
    """A WebApi already logged in as the integration user."""
    assert webapi.login(creds["kingdee"])["LoginResultType"] == 1
    return webapi
