from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from integrations import engine
from integrations.reasons import describe
from integrations.clients.errors import QuotaExceededError
from integrations.engine import ledger
from integrations.models import FieldMapping, SyncRecord, SyncRun, Trigger, ValueMap, ValueMapEntry
from tests.integrations.conftest import add_identity
from tests.integrations.fakes import BEIJING, claim

Status = SyncRecord.Status


def recent(hours_ago):
    return timezone.now().astimezone(BEIJING) - timedelta(hours=hours_ago)


def record(scheme, key):
    return SyncRecord.objects.get(scheme=scheme, source_key=key)


def test_it_books_each_approved_claim_once_with_its_rows_payee_and_base_data(scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(5), items=(("差旅费", "1000.50"), ("交通费", "80"))))
    remote.dingtalk.add(claim("b", created=recent(4)))

    run = engine.run_scheme(scheme.pk)

    assert run.status == SyncRun.Status.SUCCEEDED and run.succeeded_count == 2
    [bill] = remote.kingdee.bills_for("a")
    model = bill["model"]
    assert model["FCONTACTUNIT"] == model["FRECTUNIT"] == {"FNumber": "XH0001"}
    assert model["FBillTypeID"] == {"FNumber": "FKDLX04_SYS"}
    assert model["FDATE"] == datetime.fromisoformat(claim("a", created=recent(5))["finish_time"]).strftime("%Y-%m-%d")
    rows = [(row["FCOSTID"], row["FPAYTOTALAMOUNTFOR"], row["FOPPOSITECCOUNTNAME"]) for row in model["FPAYBILLENTRY"]]
    assert rows == [({"FNumber": "FYXM02_SYS"}, 1000.5, "张伟"), ({"FNumber": "FYXM11_SYS"}, 80.0, "张伟")]
    assert model["FPAYBILLENTRY"][0]["FEXPENSEDEPTID"] == {"FNumber": "BM000003"}
    booked = record(scheme, "a")
    assert (booked.status, booked.target_number, booked.booked_via) == (Status.SUCCEEDED, bill["number"], "polling")
    assert booked.amount == 1080.5 and booked.source_number == "BIZ-a" and booked.payload == model


def test_running_again_books_nothing_and_fetches_no_settled_detail(scheme, remote):
    remote.dingtalk.add(*(claim(f"k{n}", created=recent(10 - n)) for n in range(5)))
    engine.run_scheme(scheme.pk)
    fetched = remote.dingtalk.calls["get"]

    run = engine.run_scheme(scheme.pk, trigger=Trigger.MANUAL)

    assert len(remote.kingdee.bills) == 5
    assert remote.dingtalk.calls["get"] == fetched
    assert run.succeeded_count == 0 and run.status == SyncRun.Status.SUCCEEDED


def test_refused_withdrawn_and_cancelled_claims_are_skipped_with_the_reason(scheme, remote):
    remote.dingtalk.add(
        claim("refused", status="COMPLETED", result="refuse", created=recent(6)),
        claim("withdrawn", status="TERMINATED", result="", created=recent(5)),
        claim("cancelled", status="CANCELED", result="", created=recent(4)),
    )
    engine.run_scheme(scheme.pk)

    assert not remote.kingdee.bills
    reasons = {record.source_key: describe(record) for record in SyncRecord.objects.all()}
    assert {record.status for record in SyncRecord.objects.all()} == {Status.SKIPPED}
    assert "拒绝" in reasons["refused"] and "撤销" in reasons["withdrawn"] and "取消" in reasons["cancelled"]


def test_a_running_claim_waits_and_is_booked_once_approved_later(scheme, remote):
    remote.dingtalk.add(claim("slow", status="RUNNING", result="", created=recent(30)),
                        claim("quick", created=recent(20)))
    engine.run_scheme(scheme.pk)
    waiting = record(scheme, "slow")
    assert waiting.status == Status.WAITING and waiting.reason_code == "not_approved_yet" and "RUNNING" in waiting.error
    assert remote.dingtalk.calls["get"] == 1  # the running one was seen in the listing, not fetched
    engine.run_scheme(scheme.pk)
    assert remote.dingtalk.calls["get"] == 1  # still running: still not fetched
    scheme.refresh_from_db()
    assert scheme.cursor > waiting.source_time  # waiting records do not hold the cursor back...

    remote.dingtalk.instances["slow"].update(status="COMPLETED", result="agree", finish_time=recent(1).isoformat())
    engine.run_scheme(scheme.pk)

    # ...because every run lists what is still running since the oldest waiting one, and re-reads the rest
    assert record(scheme, "slow").status == Status.SUCCEEDED
    assert len(remote.kingdee.bills_for("slow")) == 1 and remote.dingtalk.calls["get"] == 2


def test_the_cursor_moves_to_the_window_end_when_everything_is_settled(scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(50)))
    before = timezone.now()
    engine.run_scheme(scheme.pk)
    scheme.refresh_from_db()
    assert before - ledger.CURSOR_OVERLAP - timedelta(seconds=1) <= scheme.cursor <= timezone.now()


def test_a_mapping_error_fails_that_record_alone_naming_field_path_and_value(scheme, remote):
    remote.dingtalk.add(claim("stranger", userid="u404", created=recent(3)), claim("known", created=recent(2)))

    run = engine.run_scheme(scheme.pk)

    failed = record(scheme, "stranger")
    assert failed.status == Status.FAILED and failed.error_kind == SyncRecord.ErrorKind.MAPPING
    assert "FCONTACTUNIT" in failed.error and "originator_userid" in failed.error and "u404" in failed.error
    assert record(scheme, "known").status == Status.SUCCEEDED
    assert run.status == SyncRun.Status.PARTIAL and run.failed_count == 1 and run.succeeded_count == 1


def test_items_the_target_rejects_fail_with_its_message_and_retry_books_them_after_the_fix(scheme, remote):
    FieldMapping.objects.filter(scheme=scheme, target="FPAYBILLENTRY[].FCOSTID").update(
        params={"map": "费用明细→金蝶费用项目", "wrap": "FNumber", "default": "FYXM99_SYS"})
    items = ValueMap.objects.get(scheme=scheme, name="费用明细→金蝶费用项目")
    items.entries.filter(source_value="会议费").delete()
    remote.dingtalk.add(claim("ok", created=recent(3)), claim("meeting", created=recent(2), items=(("会议费", "300"),)))
    engine.run_scheme(scheme.pk)
    rejected = record(scheme, "meeting")
    assert rejected.status == Status.FAILED and rejected.error_kind == SyncRecord.ErrorKind.REJECTED
    assert "FYXM99_SYS" in rejected.error and "不存在" in rejected.error
    [first] = remote.kingdee.bills_for("ok")

    ValueMapEntry.objects.create(value_map=items, source_value="会议费", target_value="FYXM01_SYS")
    gets = remote.dingtalk.calls["get"]
    [run] = engine.retry_records([rejected.pk])

    retried = record(scheme, "meeting")
    assert retried.status == Status.SUCCEEDED and retried.booked_via == "retry" and run.trigger == Trigger.RETRY
    assert remote.kingdee.bills_for("ok") == [first] and len(remote.kingdee.bills) == 2
    assert remote.dingtalk.calls["get"] == gets  # retried from the stored claim


def test_bills_saved_before_a_timeout_are_adopted_not_written_twice(scheme, remote):
    remote.dingtalk.add(*(claim(f"k{n}", created=recent(10 - n)) for n in range(3)))
    remote.kingdee.timeout_after_save = 1

    run = engine.run_scheme(scheme.pk)

    assert len(remote.kingdee.bills) == 3
    assert {r.status for r in SyncRecord.objects.all()} == {Status.SUCCEEDED}
    assert run.adopted_count == 3
    assert remote.kingdee.calls["ExecuteBillQuery"] == 2  # one before the write, one after the timeout


def test_a_batch_that_never_arrived_is_written_on_the_next_run(scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(3)))
    remote.kingdee.fail_batches = 1
    engine.run_scheme(scheme.pk)
    assert record(scheme, "a").status == Status.PENDING and not remote.kingdee.bills

    engine.run_scheme(scheme.pk)

    assert record(scheme, "a").status == Status.SUCCEEDED and len(remote.kingdee.bills) == 1


def test_an_unanswered_batch_kingdee_does_not_show_yet_is_not_written_again_before_the_horizon(
        scheme, remote, settings):
    settings.SYNC_OUTCOME_HORIZON_SECONDS = 60
    remote.dingtalk.add(claim("slow", created=recent(3)))
    remote.kingdee.fail_batches = 1
    engine.run_scheme(scheme.pk)
    # The save may still be working at Kingdee: an event-driven run right after must not write it again.
    engine.run_scheme(scheme.pk)
    assert record(scheme, "slow").status == Status.WRITING and not remote.kingdee.bills
    assert record(scheme, "slow").reason_code == "outcome_unknown"

    remote.kingdee.bills.append({"id": "7", "number": "FKD00000007", "model": {"FTHIRDBILLNO": "slow"}})  # it landed
    engine.run_scheme(scheme.pk)

    assert record(scheme, "slow").status == Status.SUCCEEDED and record(scheme, "slow").target_number == "FKD00000007"
    assert len(remote.kingdee.bills) == 1


def test_an_unanswered_batch_is_written_once_the_horizon_has_passed(scheme, remote, settings):
    settings.SYNC_OUTCOME_HORIZON_SECONDS = 60
    remote.dingtalk.add(claim("lost", created=recent(3)))
    remote.kingdee.fail_batches = 1
    engine.run_scheme(scheme.pk)
    SyncRecord.objects.filter(source_key="lost").update(last_attempt_at=timezone.now() - timedelta(seconds=61))

    engine.run_scheme(scheme.pk)
    engine.run_scheme(scheme.pk)

    assert record(scheme, "lost").status == Status.SUCCEEDED and len(remote.kingdee.bills) == 1


def crashed_run(scheme, keys, *, saved):
    """What a worker killed mid-batch leaves behind: records claimed for writing by a run whose lease ran out."""
    run = ledger.start_run(scheme, Trigger.SCHEDULE, exclusive=True)
    SyncRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    for key in keys:
        SyncRecord.objects.create(scheme=scheme, source_key=key, status=Status.WRITING, claim="dead", run=run,
                                  source_data=claim(key, created=recent(2)), payload={"FTHIRDBILLNO": key})
    return run


def test_the_next_run_adopts_bills_a_killed_worker_saved_and_writes_the_others(scheme, remote):
    remote.dingtalk.add(claim("saved", created=recent(2)), claim("lost", created=recent(2)))
    dead = crashed_run(scheme, ["saved", "lost"], saved=["saved"])
    remote.kingdee.bills.append({"id": "9", "number": "FKD00000009", "model": {"FTHIRDBILLNO": "saved"}})

    run = engine.run_scheme(scheme.pk)

    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.ABANDONED
    assert record(scheme, "saved").target_number == "FKD00000009" and record(scheme, "saved").booked_via == "reconciled"
    assert record(scheme, "lost").status == Status.SUCCEEDED
    assert [len(remote.kingdee.bills_for(key)) for key in ("saved", "lost")] == [1, 1]
    assert run.adopted_count == 1


def test_only_one_window_run_holds_a_scheme_until_its_lease_expires(scheme, remote):
    holder = ledger.start_run(scheme, Trigger.SCHEDULE, exclusive=True)

    assert engine.run_scheme(scheme.pk) is None

    SyncRun.objects.filter(pk=holder.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert engine.run_scheme(scheme.pk).status == SyncRun.Status.SUCCEEDED
    holder.refresh_from_db()
    assert holder.status == SyncRun.Status.ABANDONED


def test_a_pending_record_is_claimed_for_writing_by_one_run_only(scheme, remote):
    first = ledger.start_run(scheme, Trigger.EVENT, exclusive=False)
    second = ledger.start_run(scheme, Trigger.EVENT, exclusive=False)
    pending = SyncRecord.objects.create(scheme=scheme, source_key="a", status=Status.PENDING)

    _token, claimed = ledger.claim_for_writing(first, [pending.pk])
    _token, claimed_again = ledger.claim_for_writing(second, [pending.pk])

    assert claimed == {pending.pk} and claimed_again == set()
    assert record(scheme, "a").status == Status.WRITING and record(scheme, "a").run == first


def test_a_used_up_quota_stops_the_run_and_leaves_the_rest_for_later(scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(3)), claim("b", created=recent(2)))
    remote.dingtalk.fail_get["a"] = QuotaExceededError("ApiCountLimitForOrg", system="dingtalk")
    cursor_before = scheme.cursor

    run = engine.run_scheme(scheme.pk)

    assert "ApiCountLimitForOrg" in run.error and run.status == SyncRun.Status.PARTIAL
    assert record(scheme, "a").status == Status.PENDING
    scheme.refresh_from_db()
    assert scheme.cursor == cursor_before


def test_writes_go_in_batches_with_one_submit_and_one_audit_each(scheme, remote):
    scheme.target_params = {**scheme.target_params, "submit": True, "audit": True}
    scheme.batch_size = 4
    scheme.save()
    remote.dingtalk.add(*(claim(f"k{n:02d}", created=recent(20 - n)) for n in range(10)))

    engine.run_scheme(scheme.pk)

    assert remote.kingdee.calls["BatchSave"] == 3
    assert [name for name, _numbers in remote.kingdee.operations] == ["submit", "audit"] * 3
    assert sum(len(numbers) for name, numbers in remote.kingdee.operations if name == "audit") == 10


def test_write_back_tells_each_originator_once_per_batch(scheme, remote):
    scheme.writeback = True
    scheme.save()
    add_identity("u2", "XH0002", "李娜")
    remote.dingtalk.add(claim("a", created=recent(3)), claim("b", created=recent(2)),
                        claim("c", userid="u2", created=recent(1)))

    engine.run_scheme(scheme.pk)

    assert sorted(userids[0] for userids, _title, _text in remote.dingtalk.notices) == ["u1", "u2"]
    text = next(text for userids, _t, text in remote.dingtalk.notices if userids == ["u1"])
    assert record(scheme, "a").target_number in text and record(scheme, "b").target_number in text
    assert SyncRecord.objects.filter(notified_at__isnull=False).count() == 3


def test_a_backfill_reads_its_range_and_leaves_the_cursor_alone(scheme, remote):
    remote.dingtalk.add(claim("old", created=recent(24 * 60)), claim("new", created=recent(1)))
    engine.run_scheme(scheme.pk)
    scheme.refresh_from_db()
    cursor = scheme.cursor
    assert not SyncRecord.objects.filter(source_key="old").exists()

    run = engine.run_scheme(scheme.pk, trigger=Trigger.BACKFILL, since=recent(24 * 61), until=recent(24 * 59))

    assert run.trigger == Trigger.BACKFILL and record(scheme, "old").booked_via == "backfill"
    scheme.refresh_from_db()
    assert scheme.cursor == cursor


def test_an_event_books_its_instance_and_a_repeated_event_books_nothing(scheme, remote):
    remote.dingtalk.add(claim("evt", created=recent(1)))

    engine.sync_keys(scheme.pk, ["evt"])
    engine.sync_keys(scheme.pk, ["evt"])

    assert len(remote.kingdee.bills_for("evt")) == 1 and record(scheme, "evt").booked_via == "event"


def test_a_replacement_of_an_approved_claim_needs_a_person(scheme, remote):
    remote.dingtalk.add(claim("modified", biz_action="MODIFY", created=recent(1)))
    engine.run_scheme(scheme.pk)
    failed = record(scheme, "modified")
    assert failed.status == Status.FAILED and failed.error_kind == SyncRecord.ErrorKind.RULE
    assert not remote.kingdee.bills


def test_mark_handled_settles_failed_records_with_who_and_why(scheme, remote, admin_user):
    remote.dingtalk.add(claim("stranger", userid="u404", created=recent(3)))
    engine.run_scheme(scheme.pk)
    assert engine.mark_handled([record(scheme, "stranger").pk], user=admin_user, note="线下已付") == 1
    handled = record(scheme, "stranger")
    assert (handled.status, handled.handled_by, handled.note) == (Status.HANDLED, admin_user, "线下已付")


def test_a_disabled_connection_fails_the_run_with_a_clear_reason(scheme, remote):
    scheme.target_connection.enabled = False
    scheme.target_connection.save()
    run = engine.run_scheme(scheme.pk)
    assert run.status == SyncRun.Status.FAILED and "金蝶" in run.error


@pytest.mark.django_db(transaction=True)
def test_two_runs_racing_over_the_same_keys_book_each_once(scheme, remote):
    import threading

    remote.dingtalk.add(*(claim(f"k{n:02d}", created=recent(30 - n)) for n in range(20)))
    barrier = threading.Barrier(2)
    errors = []

    def event_run():
        try:
            barrier.wait()
            engine.sync_keys(scheme.pk, [f"k{n:02d}" for n in range(20)])
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=event_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert all(len(remote.kingdee.bills_for(f"k{n:02d}")) == 1 for n in range(20))
    assert SyncRecord.objects.filter(status=Status.SUCCEEDED).count() == 20


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_run_lives_and_lost_when_another_worker_takes_over(scheme, settings):
    settings.SYNC_LEASE_SECONDS = 2
    run = ledger.start_run(scheme, Trigger.SCHEDULE, exclusive=True)
    first_expiry = run.lease_expires_at

    with ledger.LeaseKeeper(run) as lease:
        import time

        time.sleep(1.2)  # the main thread is "busy": the keeper renews anyway
        assert SyncRun.objects.get(pk=run.pk).lease_expires_at > first_expiry
        SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.ABANDONED)
        assert lease.lost.wait(timeout=3)
