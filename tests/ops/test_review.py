"""Finance's review list: failed and skipped records, readable reasons, retry through the worker, mark handled."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations import engine
from integrations.models import FieldMapping, SyncRecord, ValueMap, ValueMapEntry
from sso.models import IdentityMap
from tests.integrations.fakes import claim
from tests.integrations.test_engine import recent
from tests.ops.conftest import unknown_expense

Status = SyncRecord.Status
REVIEW = reverse("admin:integrations_reviewrecord_changelist")


def page(review_client, **query):
    response = review_client.get(REVIEW, query)
    assert response.status_code == 200
    return response.content.decode()


def record(key):
    return SyncRecord.objects.get(source_key=key)


def expense_items(scheme):
    return ValueMap.objects.get(scheme=scheme, name="费用明细→金蝶费用项目")


@pytest.fixture
def ledger(scheme, remote):
    """One booked, one failed on mapping, one rejected by Kingdee, one refused in DingTalk (skipped)."""
    ValueMapEntry.objects.create(value_map=expense_items(scheme), source_value="礼品费", target_value="FYXM99")
    remote.dingtalk.add(
        claim("ok", created=recent(6)),
        unknown_expense("mapping", hours_ago=5),
        claim("rejected", created=recent(4), items=(("礼品费", "88"),)),
        claim("refused", status="COMPLETED", result="refuse", created=recent(3)),
    )
    engine.run_scheme(scheme.pk)
    return scheme


def test_finance_sees_what_needs_action_with_name_amount_number_and_kingdees_reason(finance_client, ledger):
    IdentityMap.objects.filter(dingtalk_userid="u1").update(name="张伟")
    text = page(finance_client)
    assert "张伟提交的费用报销 mapping" in text and "张伟提交的费用报销 rejected" in text
    assert "张伟提交的费用报销 ok" not in text
    assert "BIZ-rejected" in text and "88.00" in text and "张伟" in text
    assert "字段“费用项目”(FCOSTID)的值“FYXM99”在基础资料中不存在" in text
    assert "值映射“费用明细→金蝶费用项目”中没有“团建费”" in text
    assert "待复核记录" in text and "待处理（失败与冲突）" in text


def test_routine_skips_wait_apart_from_what_needs_action_and_conflicts_join_the_failures(finance_client, ledger):
    assert title("refused") not in page(finance_client)
    skipped = page(finance_client, review="skipped")
    assert title("refused") in skipped and title("rejected") not in skipped
    assert title("refused") in page(finance_client, review="all")
    SyncRecord.objects.filter(source_key="ok").update(status=Status.CONFLICT)
    needs_action = page(finance_client)
    assert title("ok") in needs_action and title("rejected") in needs_action
    assert title("ok") in page(finance_client, review="conflict")


def test_the_originator_is_named_from_the_title_when_the_identity_map_does_not_know_them(finance_client, ledger):
    SyncRecord.objects.filter(source_key="rejected").update(originator="u404", title="李娜提交的费用报销")
    assert "李娜" in page(finance_client, review="failed")


def title(key):
    return f"张伟提交的费用报销 {key}"


def test_finance_filters_by_status_kind_reason_scheme_and_date(finance_client, ledger):
    only_failed = page(finance_client, review="failed")
    assert title("mapping") in only_failed and title("refused") not in only_failed
    by_kind = page(finance_client, error_kind__exact="mapping")
    assert title("mapping") in by_kind and title("rejected") not in by_kind
    by_reason = page(finance_client, reason=record("rejected").error)
    assert title("rejected") in by_reason and title("mapping") not in by_reason
    assert title("mapping") in page(finance_client, scheme__id__exact=ledger.pk)
    assert title("mapping") in page(finance_client, updated_at__gte=recent(24).isoformat())
    assert "?reason=" in page(finance_client)  # the reason filter lists the frequent messages


def test_a_crash_left_in_the_reason_shows_without_its_traceback(finance_client, ledger):
    SyncRecord.objects.filter(source_key="mapping").update(reason_code="", error=(  # a record from before codes
        "金蝶暂时无法连接\nTraceback (most recent call last):\n  File \"engine.py\", line 3, in run\n    boom()\n"))
    text = page(finance_client, review="failed")
    assert "金蝶暂时无法连接" in text and "Traceback (most recent" not in text and 'engine.py", line' not in text


def test_the_record_page_shows_source_payload_and_response_side_by_side(finance_client, ledger):
    rejected = record("rejected")
    text = finance_client.get(reverse("admin:integrations_reviewrecord_change", args=[rejected.pk])).content.decode()
    assert text.count('<pre class="sync-json">') == 3 and "review-data" in text
    assert "报销明细" in text and "FPAYBILLENTRY" in text and "FCOSTID" in text
    assert 'id="review-retry"' in text and 'id="review-handle"' in text and 'name="_save"' not in text


def test_a_retried_record_books_through_the_worker_shows_its_bill_and_who_retried_it(
        finance_client, finance_user, ledger, remote, q_sync, committed):
    failed = record("rejected")
    ValueMapEntry.objects.filter(source_value="礼品费").update(target_value="FYXM01_SYS")  # IT fixed the value map
    with committed():
        response = finance_client.post(reverse("admin:integrations_reviewrecord_retry", args=[failed.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Status.SUCCEEDED and failed.booked_via == "retry" and failed.target_number
    assert remote.kingdee.bills_for("rejected")[0]["number"] == failed.target_number
    entry = LogEntry.objects.get(object_id=str(failed.pk))
    assert entry.user == finance_user and "重试" in entry.get_change_message()
    text = finance_client.get(reverse("admin:integrations_reviewrecord_change", args=[failed.pk])).content.decode()
    assert failed.target_number in text and "cashier" in text
    assert failed.run.requested_by == finance_user
    assert title("rejected") not in page(finance_client) and title("rejected") in page(finance_client, review="retried")


def test_retry_from_the_list_goes_through_the_worker_and_is_logged_per_record(
        finance_client, ledger, q_sync, committed):
    add_team_building(ledger)
    failed = list(SyncRecord.objects.filter(status=Status.FAILED).values_list("pk", flat=True))
    with committed():
        response = finance_client.post(REVIEW, {"action": "retry", "_selected_action": failed}, follow=True)
    assert "2 条失败记录将由后台任务重试" in response.content.decode()
    assert SyncRecord.objects.get(source_key="mapping").status == Status.SUCCEEDED
    assert LogEntry.objects.filter(object_id__in=[str(pk) for pk in failed]).count() == 2


def add_team_building(scheme):
    ValueMapEntry.objects.create(value_map=expense_items(scheme), source_value="团建费", target_value="FYXM01_SYS")


def test_marking_handled_needs_a_note_and_records_who(finance_client, finance_user, ledger):
    refused = record("refused")
    url = reverse("admin:integrations_reviewrecord_handle", args=[refused.pk])
    assert "必填项" in finance_client.post(url, {"note": ""}).content.decode()
    finance_client.post(url, {"note": "申请人已撤销，无需入账"})
    refused.refresh_from_db()
    assert (refused.status, refused.note, refused.handled_by) == (Status.HANDLED, "申请人已撤销，无需入账", finance_user)
    assert "申请人已撤销" in LogEntry.objects.get(object_id=str(refused.pk)).get_change_message()
    assert title("refused") in page(finance_client, review="handled") and title("refused") not in page(finance_client)


def test_mark_handled_from_the_list_asks_for_the_note_first(finance_client, ledger):
    failed = record("mapping")
    data = {"action": "mark_handled", "_selected_action": [failed.pk]}
    assert "标记已处理" in finance_client.post(REVIEW, data).content.decode()
    finance_client.post(REVIEW, {**data, "apply": "1", "note": "已在金蝶手工录入"})
    assert record("mapping").status == Status.HANDLED


def test_finance_can_review_but_not_change_mappings_value_maps_or_connections(finance_client, ledger):
    items = expense_items(ledger)
    row = FieldMapping.objects.filter(scheme=ledger).first()
    assert finance_client.get(reverse("admin:integrations_valuemap_change", args=[items.pk])).status_code == 403
    assert finance_client.post(reverse("admin:integrations_scheme_change", args=[ledger.pk]), {}).status_code == 403
    assert finance_client.get(reverse("admin:integrations_connection_changelist")).status_code == 403
    assert finance_client.get(reverse("admin:integrations_scheme_import")).status_code == 403
    assert FieldMapping.objects.get(pk=row.pk).target == row.target
    assert finance_client.get(REVIEW).status_code == 200


def test_the_review_list_makes_the_same_number_of_queries_for_5_rows_and_for_45(finance_client, scheme, remote):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            page(finance_client)
        return len(captured)

    remote.dingtalk.add(*(unknown_expense(f"a{n}", hours_ago=50 - n, userid=f"u{n}") for n in range(5)))
    engine.run_scheme(scheme.pk)
    few = queries()
    remote.dingtalk.add(*(unknown_expense(f"b{n}", hours_ago=40 - n / 10, userid=f"v{n}") for n in range(40)))
    engine.run_scheme(scheme.pk, since=recent(45))
    assert SyncRecord.objects.filter(status=Status.FAILED).count() == 45
    assert queries() == few


def test_each_originator_is_named_by_their_own_organisation_and_the_count_reads_the_ledger_alone(
        finance_client, ledger):
    """The list counts what needs action without joining the schemes (at a million ledger rows that join was half
    of the count), while each row still names its originator from the identity map of its scheme's organisation."""
    from integrations.models import Connection

    other = Connection.objects.create(name="另一个钉钉", kind=Connection.Kind.DINGTALK, base_url="http://127.0.0.1:9/",
                                      api_base_url="http://127.0.0.1:9/", app_key="k2", app_secret="s2",
                                      corp_id="corp2", agent_id="2")
    IdentityMap.objects.filter(dingtalk_userid="u1").update(name="赵敏", dingtalk=ledger.source_connection)
    IdentityMap.objects.create(dingtalk=other, dingtalk_userid="u1", name="王芳", kingdee_username="wf")
    with CaptureQueriesContext(connection) as captured:
        response = finance_client.get(REVIEW)
    text = response.content.decode()
    assert "赵敏" in text and "王芳" not in text
    assert response.context["cl"].result_count == 2  # mapping, rejected: what needs action
    counts = [query["sql"] for query in captured if "COUNT(*)" in query["sql"] and "GROUP BY" not in query["sql"]]
    assert counts and all("JOIN" not in sql for sql in counts)


def test_a_retry_that_fails_again_says_so_on_the_run_and_the_record(ledger, remote):
    for key in ("mapping", "rejected"):
        before = record(key)
        [run] = engine.retry_records([before.pk])
        after = record(key)
        assert run.status == run.Status.PARTIAL and run.failed_count == 1 and run.succeeded_count == 0, key
        assert (after.status, after.run_id) == (Status.FAILED, run.pk), key
        assert after.attempts == before.attempts + 1 and after.last_attempt_at > (before.last_attempt_at or
                                                                                 before.updated_at), key
        assert after.error, key


def test_the_record_page_says_when_a_retry_failed_again(finance_client, ledger):
    rejected = record("rejected")
    [run] = engine.retry_records([rejected.pk])
    text = finance_client.get(reverse("admin:integrations_reviewrecord_change", args=[rejected.pk])).content.decode()
    assert f"失败（第 2 次尝试，运行 #{run.pk}）" in text
