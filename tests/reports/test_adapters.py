"""The kingdee.query source and the dingtalk.robot / dingtalk.work_notice message targets, against the sandbox."""

from datetime import timedelta

from django.utils import timezone

from integrations.adapters import TargetAdapter, source_class, target_class
from integrations.adapters.messages import Message, compose, notice_fits, robot_fits
from integrations.clients import client_for
from sandbox.kingdee.models import FormRecord
from tests.reports.helpers import messages


def source(world, **params):
    return source_class("kingdee.query")(params, client_for(world["kingdee"]))


def test_the_query_source_pages_through_a_form_by_its_change_time_with_whole_rows(world):
    adapter = source(world, form_id="SAL_OUTSTOCK", fields="FBillNo,FCustomerID.FName,FAllAmount",
                     key_fields="FBillNo,FEntity_FEntryID", page_size=7)
    now = timezone.now()

    listed = list(adapter.list(now - timedelta(hours=1), now + timedelta(minutes=1)))

    entries = sum(len(bill.model["FEntity"]) for bill in FormRecord.objects.filter(form_id="SAL_OUTSTOCK"))
    assert adapter.windowed and len(listed) == entries > 7
    assert len({item.key for item in listed}) == entries
    assert all(item.data["FCustomerID.FName"] and item.finished for item in listed)
    assert list(adapter.list(now + timedelta(minutes=1), now + timedelta(minutes=2))) == []


def test_a_snapshot_with_a_day_window_keys_each_row_once_a_day(world):
    adapter = source(world, form_id="BD_MATERIAL", fields="FNumber,FName", key_fields="FNumber", cursor_field="",
                     window="day", filter="FIsEnableSafeStock = 1")

    listed = list(adapter.list())

    assert not adapter.windowed
    assert listed[0].key == f"1.01.001@{timezone.localdate():%Y-%m-%d}"
    assert adapter.fetch(listed[0].key)["FName"] == "智能网关 X1"


def test_source_settings_are_checked():
    cls = source_class("kingdee.query")

    assert cls.check({"form_id": "X", "fields": "FID"}) == []
    assert len(cls.check({"fields": "FID", "window": "week", "page_size": 20000, "nope": 1})) == 4


def test_the_robot_target_sends_each_record_once_even_when_retried(world):
    target = target_class("dingtalk.robot")({"msgtype": "action_card", "title": "新出库单 {{ FBillNo }}",
                                             "template": "客户 **{{ customer }}**", "button_title": "打开",
                                             "button_url": "http://portal.example/x/{{ FBillNo }}"},
                                            client_for(world["robot"]))
    items = [("XSCKD1", {"FBillNo": "XSCKD1", "customer": "杭州数智零售有限公司"})]

    first, again = target.write(items), target.write(items)

    assert target.mode == TargetAdapter.MESSAGE and first[0].ok and again[0].ok
    [message] = messages(world["url"])
    assert (message["msgtype"], message["title"], message["text"], message["links"]) == (
        "actionCard", "新出库单 XSCKD1", "客户 **杭州数智零售有限公司**", ["http://portal.example/x/XSCKD1"])


def test_the_work_notice_target_sends_to_chosen_people_and_a_fields_person(world):
    target = target_class("dingtalk.work_notice")({"title": "提醒", "template": "{{ text }}", "userids": "a1",
                                                   "userid_field": "owner"}, client_for(world["dingtalk"]))

    outcomes = target.write([("k1", {"text": "你好", "owner": "b2"}), ("k2", {"text": "无人"})])

    assert outcomes[0].ok and outcomes[1].ok
    assert [m["to"] for m in messages(world["url"], channel="work_notice")] == [["a1", "b2"], ["a1"]]
    nobody = target_class("dingtalk.work_notice")({"template": "x", "userid_field": "owner"}, None)
    assert nobody.write([("k3", {})])[0].code == "no_recipient"


def test_a_bad_template_is_refused_when_the_scheme_is_saved_and_fails_the_item_alone():
    cls = target_class("dingtalk.robot")

    assert cls.check({"template": "{% for x in %}"})
    assert cls({"template": "{{ x|nosuchfilter }}"}, None).write([("k", {})])[0].code == "template_error"


def test_long_reports_are_cut_at_a_row_with_a_link_to_the_full_table():
    rows = [{"name": f"客户{i:03d}", "amount": i * 1000} for i in range(300)]
    context = {"tables": {"t": {"rows": rows}}, "t": {"rows": rows}, "full_table_url": "http://portal/full"}
    params = {"title": "日报", "template": "{% for row in tables.t.rows %}- {{ row.name }} {{ row.amount|money }}\n"
                                           "{% endfor %}{% if cut %}…还有 {{ tables.t.hidden }} 行{% endif %}"}

    robot, notice = compose(params, context, robot_fits()), compose(params, context, notice_fits())

    for message, fits in ((robot, robot_fits()), (notice, notice_fits())):
        assert fits(message) and message.text.endswith("[查看全表](http://portal/full)")
        shown = message.text.count("\n- ") + 1
        assert f"…还有 {300 - shown} 行" in message.text and "- 客户000 0.00" in message.text
    assert len(notice.text) < len(robot.text)
    assert compose(params, {"tables": {"t": {"rows": rows[:3]}}}, robot_fits()).text.count("- ") == 3


def test_messages_take_dingtalks_two_shapes():
    card = Message("action_card", "标题", "正文", "查看", "http://x")

    assert card.robot_body()["actionCard"]["singleURL"] == "http://x"
    assert card.notice_body()["action_card"]["single_url"] == "http://x"
    assert Message("markdown", "t", "x").notice_body() == {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}}


def test_report_lines_can_link_each_bill_through_sso(settings):
    settings.PORTAL_BASE_URL = "https://portal.example.cn"
    params = {"template": "{% for row in rows %}[{{ row.no }}]({{ row.id|kingdee_bill:'SAL_OUTSTOCK' }}) {% endfor %}"}

    message = compose(params, {"rows": [{"no": "XSCKD1", "id": 100001}]}, robot_fits())

    assert message.text == "[XSCKD1](https://portal.example.cn/sso/dingtalk/?form=SAL_OUTSTOCK&pkid=100001)"
