"""Never twice, whatever the timing: a save whose answer was lost lands at Kingdee later than anyone waited.

No clock is involved: the client's wait is simulated by moving the claim back in time, and the late save lands
when the test says so (`land()`), after the engine has decided what to do about it.
"""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from integrations import engine
from integrations.adapters.kingdee import bill_number
from integrations.clients.kingdee import OutcomeUnknownError
from integrations.models import SyncRecord
from tests.integrations.fakes import BEIJING, claim

Status = SyncRecord.Status
pytestmark = pytest.mark.django_db(transaction=True)  # the fake Kingdee writes from the writer thread


def recent(hours_ago):
    return timezone.now().astimezone(BEIJING) - timedelta(hours=hours_ago)


def record(scheme, key):
    return SyncRecord.objects.get(scheme=scheme, source_key=key)


def late_save(remote, scheme, *, client_waited):
    """The next BatchSave reaches Kingdee, the client gives up after `client_waited` seconds (its read timeout:
    120 s for BatchSave, reference §9.2) and the save itself is still working there. Returns `land()`."""
    original, held = remote.kingdee.batch_save, []

    def unanswered(form_id, models, **options):
        remote.kingdee.batch_save = original
        SyncRecord.objects.filter(scheme=scheme, status=Status.WRITING).update(
            last_attempt_at=F("last_attempt_at") - timedelta(seconds=client_waited))
        held.append((form_id, models, options))
        raise OutcomeUnknownError("Read timed out; the save may have reached Kingdee", system="kingdee")

    remote.kingdee.batch_save = unanswered
    return lambda: [original(form_id, models, **options) for form_id, models, options in held]


def test_a_save_the_client_waited_on_longer_than_the_horizon_is_not_released_when_it_gives_up(
        scheme, remote, settings):
    settings.SYNC_OUTCOME_HORIZON_SECONDS = 60
    remote.dingtalk.add(claim("slow", created=recent(3)))
    land = late_save(remote, scheme, client_waited=121)

    engine.run_scheme(scheme.pk)  # the client gave up just now, 121 s after the claim
    engine.run_scheme(scheme.pk)  # the horizon counts from the give-up: still in flight, not written again
    assert record(scheme, "slow").status == Status.WRITING and record(scheme, "slow").reason_code == "outcome_unknown"
    land()
    engine.run_scheme(scheme.pk)

    assert len(remote.kingdee.bills) == 1
    assert record(scheme, "slow").status == Status.SUCCEEDED
    assert record(scheme, "slow").target_number == remote.kingdee.bills[0]["number"]


def test_the_horizon_of_a_killed_workers_save_counts_from_when_its_run_ended(scheme, remote, settings):
    settings.SYNC_OUTCOME_HORIZON_SECONDS = 60
    remote.dingtalk.add(claim("slow", created=recent(3)))
    late_save(remote, scheme, client_waited=0)
    engine.run_scheme(scheme.pk)
    # The worker's give-up was not recorded (it died), but its run lasted long after the claim.
    SyncRecord.objects.filter(source_key="slow").update(last_attempt_at=timezone.now() - timedelta(seconds=300),
                                                        reason_code="")
    run = record(scheme, "slow").run
    type(run).objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=400))

    engine.run_scheme(scheme.pk)

    assert record(scheme, "slow").status == Status.WRITING and not remote.kingdee.bills


def test_with_numbers_from_the_key_a_save_landing_after_the_horizon_leaves_one_bill(scheme, remote, settings):
    settings.SYNC_OUTCOME_HORIZON_SECONDS = 60
    scheme.target_params = {**scheme.target_params, "number_from_key": True}
    scheme.save()
    remote.dingtalk.add(claim("slow", created=recent(3)))
    land = late_save(remote, scheme, client_waited=0)
    engine.run_scheme(scheme.pk)
    # Kingdee held the save for longer than the horizon (an overloaded server): the portal writes the claim again.
    SyncRecord.objects.filter(source_key="slow").update(last_attempt_at=timezone.now() - timedelta(seconds=61))
    engine.run_scheme(scheme.pk)
    engine.run_scheme(scheme.pk)
    assert record(scheme, "slow").status == Status.SUCCEEDED

    land()  # the first save lands at last: Kingdee refuses the number it already holds

    assert len(remote.kingdee.bills) == 1 and remote.kingdee.bills[0]["number"] == bill_number("slow")


def test_with_numbers_from_the_key_a_save_refused_for_its_number_adopts_the_bill_that_landed(
        scheme, remote, settings):
    settings.SYNC_OUTCOME_HORIZON_SECONDS = 60
    scheme.target_params = {**scheme.target_params, "number_from_key": True}
    scheme.save()
    remote.dingtalk.add(claim("slow", created=recent(3)))
    land = late_save(remote, scheme, client_waited=0)
    engine.run_scheme(scheme.pk)
    SyncRecord.objects.filter(source_key="slow").update(last_attempt_at=timezone.now() - timedelta(seconds=61))
    engine.run_scheme(scheme.pk)
    # The late save lands between the search before the write and the write itself.
    remote.kingdee.on_batch = lambda models: (setattr(remote.kingdee, "on_batch", None), land())
    engine.run_scheme(scheme.pk)

    booked = record(scheme, "slow")
    assert len(remote.kingdee.bills) == 1
    assert (booked.status, booked.target_number) == (Status.SUCCEEDED, bill_number("slow"))
    assert booked.target_id == remote.kingdee.bills[0]["id"]



def test_against_the_sandbox_a_claim_written_again_is_refused_for_its_number_and_adopted(live_server, monkeypatch):
    from integrations.adapters.kingdee import SaveTarget
    from tests.integrations.live import bill_counts, build_world, faultless, shape_claims

    with faultless(live_server.url) as url:
        scheme = build_world(url, instances=40)
        approved = {i.process_instance_id for i in shape_claims(approved=5)["approved"]}
        scheme.target_params = {**scheme.target_params, "number_from_key": True}
        scheme.save()
        engine.run_scheme(scheme.pk)
        first = dict(SyncRecord.objects.filter(scheme=scheme, status=Status.SUCCEEDED)
                     .values_list("source_key", "target_number"))
        # The worst case: the ledger lets them be written again and the search before the write sees nothing yet
        # (the first saves are still landing). Kingdee refuses the numbers; the bills are adopted.
        SyncRecord.objects.filter(scheme=scheme, source_key__in=approved).update(status=Status.PENDING)
        searches, search = [], SaveTarget.find
        monkeypatch.setattr(SaveTarget, "find", lambda self, keys: (
            searches.append(list(keys)), {} if len(searches) == 1 else search(self, keys))[1])
        engine.run_scheme(scheme.pk)
        counts = bill_counts(url)

    assert set(first) == approved and all(first[key] == bill_number(key) for key in approved)
    assert {key: counts[key] for key in approved} == {key: 1 for key in approved}
    assert len(searches) == 2 and set(searches[1]) == approved  # the refused numbers were looked up
    again = SyncRecord.objects.filter(scheme=scheme, source_key__in=approved)
    assert {(r.source_key, r.status, r.target_number) for r in again} == {
        (key, Status.SUCCEEDED, number) for key, number in first.items()}
