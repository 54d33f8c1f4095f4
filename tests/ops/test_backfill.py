"""Backfill (回补历史): count by listing ids only, then run in the worker; booked records are never booked twice."""

import re

from django.urls import reverse

from integrations import engine
from integrations.clients.errors import QuotaExceededError
from integrations.models import SyncRecord, SyncRun, Trigger
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent

SCHEMES = reverse("admin:integrations_scheme_changelist")


def old_claims(remote, count, days_ago=40):
    remote.dingtalk.add(*(claim(f"old{n}", created=recent(24 * days_ago + n)) for n in range(count)))


def book_by_event(scheme, *keys):
    engine.sync_keys(scheme.pk, keys, trigger=Trigger.EVENT)


def dates(days_from, days_to):
    return {"since": recent(24 * days_from).date().isoformat(), "until": recent(24 * days_to).date().isoformat()}


def test_the_count_lists_ids_only_and_says_what_is_booked_already_and_what_it_cost(admin_client, scheme, remote):
    old_claims(remote, 12)
    book_by_event(scheme, "old0", "old1", "old2")
    remote.dingtalk.calls.clear()
    data = {"action": "backfill", "_selected_action": [scheme.pk], "count": "1", **dates(41, 39)}

    text = admin_client.post(SCHEMES, data).content.decode()

    cells = re.search(r'<td class="backfill-listed">(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>', text)
    assert cells.groups() == ("12", "3", "9", "1")
    assert remote.dingtalk.calls == {"list": 1}  # not one detail call
    assert "开始回补" in text and not SyncRun.objects.filter(trigger=Trigger.BACKFILL).exists()


def test_the_backfill_runs_in_the_worker_skips_booked_records_and_shows_its_progress(
        admin_client, scheme, remote, q_sync, django_capture_on_commit_callbacks):
    old_claims(remote, 12)
    book_by_event(scheme, "old0", "old1", "old2")
    data = {"action": "backfill", "_selected_action": [scheme.pk], "apply": "1", **dates(41, 39)}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(SCHEMES, data)

    assert response.status_code == 302
    assert response["Location"] == (reverse("admin:integrations_syncrun_changelist")
                                    + f"?trigger__exact=backfill&scheme__id__exact={scheme.pk}")
    run = SyncRun.objects.get(trigger=Trigger.BACKFILL)
    assert run.requested_by is not None
    assert run.succeeded_count == 9 and run.done == run.total
    assert all(len(remote.kingdee.bills_for(f"old{n}")) == 1 for n in range(12))
    assert SyncRecord.objects.filter(booked_via="backfill").count() == 9
    listing = admin_client.get(response["Location"]).content.decode()
    assert f'data-run="{run.pk}"' in listing and f"{run.total} / {run.total}" in listing


def test_a_listing_refused_by_dingtalk_is_shown_instead_of_a_count(admin_client, scheme, remote, monkeypatch):
    def refuse(*args, **kwargs):
        raise QuotaExceededError("本月接口调用额度已用完", code=90020, system="dingtalk")

    monkeypatch.setattr(remote.dingtalk, "list_instance_ids", refuse)
    data = {"action": "backfill", "_selected_action": [scheme.pk], "count": "1", **dates(41, 39)}
    text = admin_client.post(SCHEMES, data).content.decode()
    assert "无法统计：本月接口调用额度已用完" in text and 'name="apply"' in text


def test_finance_cannot_backfill(finance_client, scheme, remote):
    data = {"action": "backfill", "_selected_action": [scheme.pk], "count": "1", **dates(41, 39)}
    finance_client.post(SCHEMES, data)
    assert not remote.dingtalk.calls
