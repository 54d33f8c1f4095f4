"""Kingdee as a source (`kingdee.query`) and DingTalk messages as targets (`dingtalk.robot`,
`dingtalk.work_notice`), with in-process fakes answering in the remotes' shapes."""

from datetime import datetime, timedelta

from tests.contract.registry import SourceCase, TargetCase, source, target
from tests.integrations.fakes import BEIJING

START = datetime(2026, 5, 1, tzinfo=BEIJING)


class FakeKingdeeQuery:
    """ExecuteBillQuery over a few sales outbound rows (rows as lists in FieldKeys order, paged)."""

    ROWS = [{"FID": 100001 + n, "FBillNo": f"XSCKD{n:06d}", "FCustomerID.FName": "杭州数智零售有限公司",
             "FAllAmount": 1280.0 * (n + 1), "FModifyDate": f"2026-05-01T0{n}:00:00"} for n in range(3)]

    def execute_bill_query(self, form_id, field_keys, filter_string="", order_string="", start_row=0, limit=2000):
        rows = [[row.get(key, "") for key in field_keys] for row in self.ROWS]
        return rows[start_row:start_row + limit]

    def query_all(self, form_id, field_keys, filter_string="", order_string="", page_size=2000):
        return self.execute_bill_query(form_id, field_keys, filter_string, order_string, 0, 10000)


class FakeRobot:
    def __init__(self):
        self.sent = {}

    def send(self, message, msg_uuid=None):
        self.sent.setdefault(msg_uuid, message)  # DingTalk posts a msgUuid once
        return {"errcode": 0, "errmsg": "ok"}


class FakeNotices:
    def __init__(self):
        self.sent = []

    def send_notice(self, userids, msg):
        self.sent.append((list(userids), msg))
        return 256271667526 + len(self.sent)


source(SourceCase("kingdee.query", {"form_id": "SAL_OUTSTOCK", "fields": "FBillNo,FCustomerID.FName,FAllAmount"},
                  FakeKingdeeQuery, (START, START + timedelta(days=1)), name="kingdee.query"))
MESSAGE = {"title": "出库 {{ FBillNo }}", "template": "客户 {{ customer }}，金额 {{ amount|money }}"}
PAYLOADS = lambda: {"XSCKD1": {"FBillNo": "XSCKD1", "customer": "上海云启", "amount": 3480, "owner": "u1"}}  # noqa: E731
target(TargetCase("dingtalk.robot", MESSAGE, FakeRobot, PAYLOADS, name="dingtalk.robot"))
target(TargetCase("dingtalk.work_notice", {**MESSAGE, "userid_field": "owner"}, FakeNotices, PAYLOADS,
                  name="dingtalk.work_notice"))
