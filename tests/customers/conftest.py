"""The two-way customers sync against the sandboxes on the live server: a seeded company with its identity map,
the two connections, and the scheme made from the template."""

from dataclasses import dataclass

import pytest
import requests

from django.contrib.auth.models import Group, User

from devtools import demo
from integrations.clients import client_for
from integrations.customers import create_customer_scheme, rules
from portal.roles import IT_ADMIN, sync_roles
from sandbox import roster
from sandbox.dingtalk.models import Employee
from sso.identities import seed_demo_identities
from tests.integrations.live import faultless

PEOPLE = 12


@dataclass
class World:
    base_url: str
    dingtalk: object  # Connection
    kingdee: object
    operator: str  # an administrator's userid
    sellers: list  # (DingTalk userid, Kingdee staff number) of mapped people

    def crm(self, action, **customer):
        """POST one change to the DingTalk sandbox's CRM door; returns the customer as the API shows it."""
        response = requests.post(f"{self.base_url}/sandbox/dingtalk/_crm", json={"action": action,
                                                                                 "customer": customer}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def crm_many(self, changes):
        response = requests.post(f"{self.base_url}/sandbox/dingtalk/_crm", json={"changes": changes}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["done"]

    def kingdee_client(self):
        return client_for(self.kingdee)

    def scheme(self, signed=True, **options):
        """The scheme from the template; with `signed`, IT signed the template's master rules as they are."""
        scheme = create_customer_scheme(source_connection=self.dingtalk, target_connection=self.kingdee,
                                        operator_userid=self.operator, **options)
        if signed:
            rules.decide(scheme, scheme.target_params["master_rules"], user=it_signer(), note="方案评审会")
            scheme.refresh_from_db()
        return scheme


def it_signer():
    sync_roles()
    user, _created = User.objects.get_or_create(username="it-signer", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=IT_ADMIN))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def world(live_server, transactional_db):
    # Seeded before the faults are reset: the reset writes the sandbox's settings row, and a seed into a sandbox
    # that is not empty runs in full (tests/seed_memo.py) instead of being copied from the first one.
    credentials = demo.seed_sandbox(instances=0, employees=PEOPLE)
    with faultless(live_server.url) as base_url:
        dingtalk, _robot, kingdee = demo.sandbox_connections(base_url, credentials)
        for connection in (dingtalk, kingdee):
            connection.rate_limit, connection.max_concurrency = 100.0, 4
            connection.save()
        people = roster.employees(PEOPLE)
        seed_demo_identities(people, unmapped=2, connection=dingtalk)
        operator = Employee.objects.filter(admin=True).values_list("userid", flat=True).first()
        sellers = [(person.userid, person.staff_number) for person in people[:PEOPLE - 2]]
        yield World(base_url, dingtalk, kingdee, operator, sellers)
