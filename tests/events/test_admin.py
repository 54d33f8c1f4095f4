"""The DingTalk events log in the admin: read-only, one query count whatever the page holds, bills by channel."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations import events
from integrations.models import DingTalkEvent, SyncRecord
from tests.events.pushes import approval_event

LIST = reverse("admin:integrations_dingtalkevent_changelist")


def deliver(connection_, *bodies):
    return [events.receive(connection_, events.from_callback(body)) for body in bodies]


def test_the_events_list_shows_outcomes_links_and_the_bills_booked_by_each_channel(admin_client, scheme):
    [event] = deliver(scheme.source_connection, approval_event("i-1"))
    record = SyncRecord.objects.get()
    SyncRecord.objects.filter(pk=record.pk).update(status="succeeded", booked_via="event", target_number="FKD1")
    DingTalkEvent.objects.filter(pk=event.pk).update(outcome="booked", record=record)
    SyncRecord.objects.create(scheme=scheme, source_key="i-2", status="succeeded", booked_via="polling")

    page = admin_client.get(LIST)

    assert page.status_code == 200
    text = page.content.decode()
    assert "i-1" in text and "结束/同意" in text and reverse("admin:integrations_syncrecord_change",
                                                                args=[record.pk]) in text
    counts = {str(label): count for label, count in page.context["booked_by"]}
    assert counts == {str(SyncRecord.Via.POLLING.label): 1, str(SyncRecord.Via.EVENT.label): 1,
                      str(SyncRecord.Via.RETRY.label): 0, str(SyncRecord.Via.BACKFILL.label): 0,
                      str(SyncRecord.Via.RECONCILED.label): 0}


def test_the_events_list_makes_the_same_queries_for_one_event_or_thirty(admin_client, scheme):
    deliver(scheme.source_connection, approval_event("i-0"))
    with CaptureQueriesContext(connection) as one:
        admin_client.get(LIST)
    deliver(scheme.source_connection, *[approval_event(f"i-{n}") for n in range(1, 30)])
    with CaptureQueriesContext(connection) as thirty:
        admin_client.get(LIST)

    assert len(thirty) == len(one)


@pytest.mark.parametrize("url", ["add", "delete"])
def test_events_cannot_be_added_or_deleted_in_the_admin(admin_client, scheme, url):
    [event] = deliver(scheme.source_connection, approval_event("i-1"))
    target = reverse("admin:integrations_dingtalkevent_add") if url == "add" else reverse(
        "admin:integrations_dingtalkevent_delete", args=[event.pk])
    assert admin_client.get(target).status_code == 403


def test_an_event_page_shows_its_body_read_only(admin_client, scheme):
    [event] = deliver(scheme.source_connection, approval_event("i-1"))

    page = admin_client.get(reverse("admin:integrations_dingtalkevent_change", args=[event.pk]))

    assert page.status_code == 200 and "processInstanceId" in page.content.decode()
    assert b'name="_save"' not in page.content


def test_an_events_reason_is_kept_as_data_and_read_in_the_readers_language(admin_client, scheme):
    """Issue 10: no translated text frozen into what the worker keeps; the page renders the reason for its reader."""
    body = approval_event("i-1", kind="start", result="", event_id="e-1")
    first, again = deliver(scheme.source_connection, body, dict(body))
    for event in (first, again):
        event.refresh_from_db()
        assert event.reason_code and not re.search(r"[\u4e00-\u9fff]", event.reason)
    assert (first.reason_code, again.reason_code) == ("event_not_approved", "event_duplicate")

    chinese = admin_client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = admin_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "只有审批通过的实例" in chinese and "重复推送" in chinese and "Only approved" not in chinese
    assert "Only approved instances" in english and "Delivered again" in english
    page = admin_client.get(reverse("admin:integrations_dingtalkevent_change", args=[first.pk]),
                            HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "只有审批通过的实例" in page


def test_an_event_kept_before_reasons_were_codes_still_shows_its_text(admin_client, scheme):
    [event] = deliver(scheme.source_connection, approval_event("i-1", kind="start", result=""))
    DingTalkEvent.objects.filter(pk=event.pk).update(reason="旧的原因文字", reason_code="", reason_params={})
    assert "旧的原因文字" in admin_client.get(LIST).content.decode()
