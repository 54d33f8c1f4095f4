"""The sandbox as DingTalk, for end-to-end event tests: new claims through the create API, approvals through
the approve door, events pushed to the portal running on the live server."""

import json
import random

import requests

from devtools import demo
from sandbox import roster
from sandbox.dingtalk import claims
from sandbox.dingtalk.models import App, ApprovalInstance, Employee, PushedEvent
from tests.integrations.live import build_world


def dingtalk_url(base_url, path):
    return f"{base_url}/sandbox/dingtalk/{path}"


def events_world(base_url, mode="callback", instances=20):
    """Both sandboxes seeded, the portal's connections and the expense scheme on events (no schedule), the
    sandbox app pushing to the portal's callback URL (or in Stream mode)."""
    scheme = build_world(base_url, instances=instances)
    scheme.event_trigger = True
    scheme.save()
    demo.sandbox_push(base_url, scheme.source_connection, mode)
    return scheme


def set_push(base_url, **changes):
    # A redelivery posts every event to the portal before it answers: fifty callbacks, each a SQLite write
    # beside the worker's, take longer than ten seconds on a busy machine.
    response = requests.post(dingtalk_url(base_url, "_events"), data=json.dumps(changes), timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def access_token(base_url):
    app = App.objects.order_by("pk").first()
    response = requests.get(dingtalk_url(base_url, "gettoken"), params={"appkey": app.app_key,
                                                                        "appsecret": app.app_secret}, timeout=10)
    return response.json()["access_token"]


def mapped_people(count=None):
    """Active employees the demo identity map knows (the last few are left unmapped on purpose)."""
    unmapped = {person.userid for person in roster.employees()[-4:]}
    people = list(Employee.objects.filter(active=True).exclude(userid__in=unmapped).order_by("userid"))
    return people[:count] if count else people


def create_claims(base_url, count, seed=7):
    """`count` new running claims through topapi/processinstance/create; returns their instance ids."""
    rng, token, people = random.Random(seed), access_token(base_url), mapped_people()
    session, ids = requests.Session(), []
    for index in range(count):
        person = people[index % len(people)]
        body = {"process_code": roster.EXPENSE_PROCESS_CODE, "originator_user_id": person.userid, "dept_id": -1,
                "form_component_values": claims.expense_values(rng, person)}
        answer = session.post(dingtalk_url(base_url, "topapi/processinstance/create"),
                              params={"access_token": token}, json=body, timeout=10).json()
        assert answer["errcode"] == 0, answer
        ids.append(answer["process_instance_id"])
    return ids


def decide(base_url, instance_id, action="agree", session=requests):
    response = session.post(dingtalk_url(base_url, f"_approvals/{instance_id}"), data=json.dumps({"action": action}),
                            timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def pushed(instance_id=None, **filters):
    rows = PushedEvent.objects.all()
    if instance_id:
        rows = rows.filter(process_instance_id=instance_id)
    return list(rows.filter(**filters).order_by("pk"))


def instance(instance_id):
    return ApprovalInstance.objects.select_related("originator").get(process_instance_id=instance_id)
