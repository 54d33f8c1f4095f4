"""A Kingdee-local edit of a synced field is shown to a person with both values; both decisions do what they say."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from integrations.market.org import create_org_schemes
from integrations.models import SyncRecord
from tests.events.conftest import dingtalk, kingdee  # noqa: F401  (fixtures)
from tests.integrations.conftest import kingdee_connection, remote  # noqa: F401

pytestmark = pytest.mark.django_db
Status = SyncRecord.Status
CONFLICTS = {"FMobile": {"source": "13700000000", "target": "13900000000", "written": "13512345678"}}


@pytest.fixture
def conflict(dingtalk, kingdee):  # noqa: F811
    _departments, people = create_org_schemes(source_connection=dingtalk, target_connection=kingdee)
    return SyncRecord.objects.create(
        scheme=people, source_key="u1", status=Status.CONFLICT, title="林小雨", source_number="XH9001",
        originator="u1", reason_code="conflict", reason_params={"fields": CONFLICTS}, fingerprint="abc",
        synced_state={"target": {"FName": "林小雨", "FMobile": "13512345678"}})


def page(client, record):
    return client.get(reverse("admin:integrations_reviewrecord_change", args=[record.pk]))


def decide(client, record, side):
    return client.post(reverse("admin:integrations_reviewrecord_keep", args=[record.pk, side]))


def test_the_review_page_shows_both_values_in_chinese(it_client, conflict):
    text = page(it_client, conflict).content.decode()
    assert 'id="review-conflicts"' in text and "13700000000" in text and "13900000000" in text
    assert "以钉钉为准" in text and "保留金蝶的值" in text and "Keep" not in text
    listing = it_client.get(reverse("admin:integrations_reviewrecord_changelist"), {"review": "conflict"})
    assert "林小雨" in listing.content.decode()


def test_keeping_dingtalks_value_queues_an_overwrite_and_logs_who(it_client, it_user, conflict,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        decide(it_client, conflict, "dingtalk")

    conflict.refresh_from_db()
    assert conflict.status == Status.PENDING and conflict.fingerprint == ""
    assert conflict.synced_state["target"]["FMobile"] == "13900000000" and not conflict.synced_state.get("kept")
    assert conflict.note == "已以钉钉为准：手机号（FMobile）。"
    assert conflict.handled_by == it_user and conflict.handled_at is not None and len(callbacks) == 1
    assert LogEntry.objects.get(object_id=str(conflict.pk)).user == it_user


def test_keeping_kingdees_value_stops_overwriting_that_field_until_cleared(it_client, conflict,
                                                                          django_capture_on_commit_callbacks):
    decide(it_client, conflict, "kingdee")
    conflict.refresh_from_db()
    assert conflict.status == Status.PENDING and conflict.synced_state["kept"] == ["FMobile"]
    assert "重新以钉钉为准" in page(it_client, conflict).content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        it_client.post(reverse("admin:integrations_reviewrecord_clear_kept", args=[conflict.pk]))
    conflict.refresh_from_db()
    assert conflict.status == Status.PENDING and "kept" not in conflict.synced_state and len(callbacks) == 1
    assert LogEntry.objects.filter(object_id=str(conflict.pk)).count() == 2


def test_a_decision_on_a_settled_record_changes_nothing(it_client, conflict):
    decide(it_client, conflict, "kingdee")
    decide(it_client, conflict, "dingtalk")
    conflict.refresh_from_db()
    assert conflict.status == Status.PENDING and conflict.synced_state["kept"] == ["FMobile"]
    assert LogEntry.objects.filter(object_id=str(conflict.pk)).count() == 1
