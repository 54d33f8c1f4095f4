import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import Schedule

from integrations import engine
from integrations.models import FieldMapping, Scheme, SyncRecord, SyncRun, Trigger
from tests.integrations.fakes import PROCESS_CODE, claim
from tests.integrations.test_engine import recent

Status = SyncRecord.Status


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Tasks are enqueued on commit; inside a test's transaction, run those callbacks as the commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def changelist(model):
    return reverse(f"admin:integrations_{model}_changelist")


def test_the_scheme_page_shows_its_mapping_rows_and_value_maps(admin_client, scheme):
    page = admin_client.get(reverse("admin:integrations_scheme_change", args=[scheme.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "FPAYBILLENTRY[].FCOSTID" in text and "费用明细→金蝶费用项目" in text and "映射预览" in text


def test_a_mapping_row_with_bad_parameters_is_refused_in_chinese(admin_client, scheme):
    url = reverse("admin:integrations_scheme_change", args=[scheme.pk])
    form = page_form(admin_client.get(url))
    row = next(i for i in range(int(form["mappings-TOTAL_FORMS"])) if form[f"mappings-{i}-target"] == "FDATE")
    form[f"mappings-{row}-transform"] = "number"
    form[f"mappings-{row}-params"] = '{"scale": "two"}'
    page = admin_client.post(url, form)
    assert page.status_code == 200
    assert "“scale”必须是 0 到 10 之间的整数" in page.content.decode()
    assert FieldMapping.objects.get(scheme=scheme, target="FDATE").transform == "date"


def page_form(response):
    """The change form's current values, as the browser would post them back."""
    context = response.context
    data = {}
    adminform = context["adminform"].form
    for name, field in adminform.fields.items():
        value = adminform[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = field.widget.format_value(value) if hasattr(field.widget, "format_value") and isinstance(
            value, (dict, list)) else value
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is None or value is False:
                    continue
                widget = form.fields[name].widget
                data[form.add_prefix(name)] = "on" if value is True else (
                    widget.format_value(value) if isinstance(value, (dict, list)) else value)
    return data


def test_saving_a_scheme_keeps_its_django_q_schedule_in_step(scheme):
    schedule = Schedule.objects.get(pk=scheme.schedule_id)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "integrations.tasks.run_scheduled_scheme", Schedule.MINUTES, 30)
    scheme.schedule_kind, scheme.cron = Scheme.ScheduleKind.CRON, "10 * * * *"
    scheme.save()
    schedule.refresh_from_db()
    assert (schedule.schedule_type, schedule.cron) == (Schedule.CRON, "10 * * * *") and schedule.next_run.minute == 10
    scheme.enabled = False
    scheme.save()
    assert not Schedule.objects.filter(pk=schedule.pk).exists()


def test_run_now_goes_through_the_worker_and_says_so(admin_client, scheme, remote, q_sync, committed):
    remote.dingtalk.add(claim("a", created=recent(2)))
    with committed():
        page = admin_client.post(changelist("scheme"), {"action": "run_now", "_selected_action": [scheme.pk]},
                                 follow=True)
    assert "1 个方案将很快由后台任务运行" in page.content.decode()
    run = SyncRun.objects.get(scheme=scheme)
    assert run.trigger == Trigger.MANUAL and run.succeeded_count == 1 and len(remote.kingdee.bills) == 1


def test_backfill_asks_for_a_date_range_first(admin_client, scheme, remote, q_sync, committed):
    remote.dingtalk.add(claim("old", created=recent(24 * 40)))
    data = {"action": "backfill", "_selected_action": [scheme.pk]}
    page = admin_client.post(changelist("scheme"), data)
    assert page.status_code == 200 and "开始回补" in page.content.decode()
    since, until = recent(24 * 41).date(), recent(24 * 39).date()
    with committed():
        admin_client.post(changelist("scheme"), {**data, "apply": "1", "since": since, "until": until})
    run = SyncRun.objects.get(scheme=scheme)
    assert run.trigger == Trigger.BACKFILL and len(remote.kingdee.bills_for("old")) == 1


def test_the_preview_shows_each_field_and_each_rows_error_and_writes_nothing(admin_client, scheme, remote):
    remote.dingtalk.add(claim("p", userid="u404", created=recent(2), items=(("差旅费", "12.5"), ("交通费", "x"))))
    page = admin_client.get(reverse("admin:integrations_scheme_preview", args=[scheme.pk]), {"key": "p"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "FPAYBILLENTRY[1].FPAYTOTALAMOUNTFOR" in text and "FYXM02_SYS" in text
    assert "钉钉用户 u404 在身份映射中没有启用的条目" in text and "“x”不是数字" in text
    assert not remote.kingdee.bills and not SyncRecord.objects.exists()


def test_a_new_scheme_from_the_template_gets_every_row_and_value_map(admin_client, dingtalk_connection,
                                                                     kingdee_connection):
    page = admin_client.post(reverse("admin:integrations_scheme_from_template"), {
        "template": "dingtalk-expense-to-kingdee-paybill", "name": "报销→付款单",
        "source_connection": dingtalk_connection.pk, "target_connection": kingdee_connection.pk,
        "process_code": PROCESS_CODE})
    scheme = Scheme.objects.get(name="报销→付款单")
    assert page.status_code == 302 and scheme.source_params["process_code"] == PROCESS_CODE
    targets = set(scheme.mappings.values_list("target", flat=True))
    assert {"FBillTypeID", "FDATE", "FCONTACTUNITTYPE", "FCONTACTUNIT", "FRECTUNITTYPE", "FRECTUNIT", "FCURRENCYID",
            "FPAYORGID", "FSETTLEORGID", "FSETTLECUR", "FREMARK", "FTHIRDBILLNO"} <= targets
    assert {f"FPAYBILLENTRY[].{key}" for key in ("FSETTLETYPEID", "FPURPOSEID", "FPAYTOTALAMOUNTFOR", "FCOSTID",
                                                 "FEXPENSEDEPTID", "FOPPOSITEBANKACCOUNT", "FOPPOSITECCOUNTNAME",
                                                 "FCOMMENT")} <= targets
    assert scheme.value_maps.get(name="费用明细→金蝶费用项目").entries.count() == 10


def failed_records(scheme, remote, count):
    remote.dingtalk.add(*(claim(f"f{n:03d}", userid="u404", created=recent(count + 5 - n)) for n in range(count)))
    engine.run_scheme(scheme.pk)
    return SyncRecord.objects.filter(status=Status.FAILED)


def test_finance_retries_failed_records_through_the_worker(finance_client, scheme, remote, q_sync, committed):
    failed = list(failed_records(scheme, remote, 3).values_list("pk", flat=True))
    from tests.integrations.conftest import add_identity

    add_identity("u404", "XH0404", "新同事")
    with committed():
        page = finance_client.post(changelist("syncrecord"), {"action": "retry", "_selected_action": failed},
                                   follow=True)
    assert "3 条失败记录将由后台任务重试" in page.content.decode()
    assert SyncRecord.objects.filter(pk__in=failed, status=Status.SUCCEEDED, booked_via="retry").count() == 3


def test_finance_marks_records_handled_with_a_note(finance_client, scheme, remote):
    [record] = failed_records(scheme, remote, 1)
    data = {"action": "mark_handled", "_selected_action": [record.pk]}
    assert "标记已处理" in finance_client.post(changelist("syncrecord"), data).content.decode()
    finance_client.post(changelist("syncrecord"), {**data, "apply": "1", "note": "已线下付款"})
    record.refresh_from_db()
    assert (record.status, record.note, record.handled_by.username) == (Status.HANDLED, "已线下付款", "cashier")


def test_finance_may_not_change_schemes_or_run_them(finance_client, scheme):
    # Schemes are IT's: finance does not even read them (their mapping rows, versions and exports).
    assert finance_client.get(reverse("admin:integrations_scheme_change", args=[scheme.pk])).status_code == 403
    page = finance_client.post(changelist("scheme"), {"action": "run_now", "_selected_action": [scheme.pk]})
    assert not SyncRun.objects.exists()
    assert finance_client.get(reverse("admin:integrations_scheme_preview", args=[scheme.pk])).status_code == 403
    assert page.status_code == 403


def test_the_record_list_is_read_only_filterable_searchable_and_does_not_query_per_row(admin_client, scheme, remote):
    failed_records(scheme, remote, 5)

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(changelist("syncrecord"),
                                    {"status__exact": "failed", "scheme__id__exact": scheme.pk})
        assert page.status_code == 200
        return len(queries)

    few = list_queries()
    failed_records(scheme, remote, 40)
    assert list_queries() == few
    page = admin_client.get(changelist("syncrecord"), {"q": "f003"})
    assert "f003" in page.content.decode()
    record = SyncRecord.objects.get(source_key="f003")
    detail = admin_client.get(reverse("admin:integrations_syncrecord_change", args=[record.pk])).content.decode()
    assert "sync-json" in detail and "FCONTACTUNIT" in detail and 'name="_save"' not in detail


def test_the_run_list_shows_counts_and_progress(admin_client, scheme, remote):
    remote.dingtalk.add(claim("a", created=recent(2)))
    run = engine.run_scheme(scheme.pk)
    page = admin_client.get(changelist("syncrun")).content.decode()
    assert "sync-progress" in page and str(run.pk) in page
    assert admin_client.get(reverse("admin:integrations_syncrun_change", args=[run.pk])).status_code == 200


def test_the_django_q_scheduler_runs_the_scheme_when_its_time_comes(scheme, remote, q_sync):
    from django.utils import timezone
    from django_q.scheduler import scheduler

    remote.dingtalk.add(claim("due", created=recent(2)))
    Schedule.objects.filter(pk=scheme.schedule_id).update(next_run=timezone.now() - timezone.timedelta(seconds=1))

    scheduler()

    run = SyncRun.objects.get(scheme=scheme)
    assert run.trigger == Trigger.SCHEDULE and len(remote.kingdee.bills_for("due")) == 1
    assert Schedule.objects.get(pk=scheme.schedule_id).next_run > timezone.now()
