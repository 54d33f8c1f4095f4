"""Org events reach the contacts schemes: pending ledger rows per id, the sync queued after the commit."""

import pytest

from integrations import events, reasons
from integrations.market.org import create_org_schemes, org_schemes
from integrations.models import DingTalkEvent, SyncRecord
from tests.events.conftest import dingtalk, kingdee  # noqa: F401  (fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def schemes(dingtalk, kingdee):  # noqa: F811
    return create_org_schemes(source_connection=dingtalk, target_connection=kingdee, prefix="BM", org_number="200")


def receive(connection, event_type, **body):
    message = {"EventType": event_type, "eventId": f"e-{event_type}-{sorted(body.items())}", **body}
    return events.receive(connection, events.from_callback(message))


def test_the_template_makes_a_departments_and_a_people_scheme_with_the_chosen_defaults(schemes, dingtalk):
    departments, people = schemes
    assert org_schemes(dingtalk) == (departments, people)
    assert departments.source_params["records"] == "departments" and people.source_params["records"] == "users"
    assert departments.target_params["number_template"] == "BM{key}" and people.source_params["number_prefix"] == "BM"
    assert departments.event_trigger and people.interval_minutes == 10 and people.source_params["identity_rows"]
    org_rows = people.mappings.filter(target__in=("FCreateOrgId", "FUseOrgId"))
    assert {row.params["value"] for row in org_rows} == {"200"}


def test_a_batch_of_joiners_queues_each_in_the_people_scheme_only(schemes, dingtalk, django_capture_on_commit_callbacks):
    departments, people = schemes
    with django_capture_on_commit_callbacks() as callbacks:
        event = receive(dingtalk, "user_add_org", userId=["u1", "u2"], timeStamp="1717041600000")

    assert event.outcome == DingTalkEvent.Outcome.QUEUED and event.scheme == people
    assert set(SyncRecord.objects.filter(scheme=people).values_list("source_key", flat=True)) == {"u1", "u2"}
    assert not SyncRecord.objects.filter(scheme=departments).exists() and len(callbacks) == 1


def test_department_events_in_the_old_spelling_reach_the_departments_scheme(schemes, dingtalk):
    departments, _people = schemes
    event = receive(dingtalk, "org_dept_remove", DeptId=[582976341])
    assert event.outcome == DingTalkEvent.Outcome.QUEUED
    assert list(SyncRecord.objects.filter(scheme=departments).values_list("source_key", flat=True)) == ["582976341"]


def test_an_org_event_without_a_listening_scheme_is_ignored_with_the_reason(dingtalk):
    event = receive(dingtalk, "user_leave_org", userId=["u9"])
    assert event.outcome == DingTalkEvent.Outcome.IGNORED and "通讯录" in reasons.describe_event(event)
    assert event.reason_code == "event_no_contacts_scheme" and "contacts" in event.reason  # stored in English
