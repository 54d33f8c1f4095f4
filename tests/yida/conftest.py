"""Yida forms and attendance against the sandboxes on the live server: a small seeded company, its connections
(the DingTalk one with the Yida app's code and system token) and the schemes made from the templates."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from devtools import demo
from integrations import market
from integrations.models import Scheme
from sandbox import roster
from sandbox.kingdee.models import FormRecord
from sso.identities import seed_demo_identities
from tests.integrations.live import faultless

PEOPLE = 12
TEMPLATES = {"sale": "yida-sales-order-to-kingdee", "receipt": "yida-purchase-receipt-to-kingdee",
             "transfer": "yida-transfer-to-kingdee"}
FORMS = {"sale": "SAL_SaleOrder", "receipt": "STK_InStock", "transfer": "STK_TransferDirect"}
ATTENDANCE = "dingtalk-attendance-to-kingdee-hr"
SOURCE_FIELD = "F_PORTAL_SourceId"


@dataclass
class World:
    base_url: str
    dingtalk: object  # Connection
    kingdee: object
    credentials: dict

    def yida(self, key, form_data, instance_id="", userid=""):
        """Create (or, with `instance_id`, update) a Yida instance through the sandbox door."""
        body = {"formUuid": self.credentials["yida"]["forms"][key], "formData": form_data}
        if instance_id:
            body["formInstanceId"] = instance_id
        if userid:
            body["userId"] = userid
        response = requests.post(f"{self.base_url}/sandbox/dingtalk/_yida", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def correct(self, **change):
        response = requests.post(f"{self.base_url}/sandbox/dingtalk/_attendance", json=change, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def scheme(self, slug, scheduled=False, **source):
        """A scheme from the template, manual unless `scheduled` (then on the template's own schedule)."""
        template = market.get(slug)
        params = {**template["source"]["params"], **source}
        timing = {} if scheduled else {"schedule_kind": Scheme.ScheduleKind.MANUAL}
        return market.create_scheme(slug, source_connection=self.dingtalk, target_connection=self.kingdee,
                                    source_params=params, start_from=timezone.now() - timedelta(days=10), **timing)

    def yida_scheme(self, key, scheduled=False):
        return self.scheme(TEMPLATES[key], scheduled, form_uuid=self.credentials["yida"]["forms"][key],
                           user_id=self.credentials["yida"]["user_id"])

    def kingdee_writes(self):
        calls = requests.get(f"{self.base_url}/sandbox/kingdee/_calls", timeout=10).json()["calls"]
        return [c["service"] for c in calls if c["service"].split(".")[-1] in ("Save", "BatchSave")]

    def clear_calls(self):
        requests.delete(f"{self.base_url}/sandbox/kingdee/_calls", timeout=10)


def bills(form_id):
    """{source key: [bills]} of a sandbox Kingdee form, by the integration's source field."""
    found = {}
    for record in FormRecord.objects.filter(form_id=form_id).order_by("fid"):
        found.setdefault(record.model.get(SOURCE_FIELD), []).append(record)
    return found


@pytest.fixture
def world(live_server, transactional_db):
    with faultless(live_server.url) as base_url:
        credentials = demo.seed_sandbox(instances=0, employees=PEOPLE)
        dingtalk, _robot, kingdee = demo.sandbox_connections(base_url, credentials)
        for connection in (dingtalk, kingdee):
            connection.rate_limit, connection.max_concurrency = 100.0, 4
            connection.save()
        seed_demo_identities(roster.employees(PEOPLE), unmapped=0)
        yield World(base_url, dingtalk, kingdee, credentials)
