"""Yida forms and monthly attendance: the `dingtalk.yida` and `dingtalk.attendance` sources, and the
`kingdee.bill_upsert` target (bills that follow their source), each against an in-process fake in the remote's
real payload shapes (round 2 §4–5 and §6)."""

import re
from datetime import datetime, timedelta
from itertools import count

from integrations.clients.errors import BusinessError
from integrations.clients.kingdee import ItemOutcome
from tests.contract.registry import SourceCase, TargetCase, source, target
from tests.integrations.fakes import BEIJING

FORM = "FORM-EF6Y93URN24F1SCX15VA2P918LPEIJ2H3UFORCJ1"
START = datetime(2026, 5, 1, tzinfo=BEIJING)
DEFINITIONS = [
    {"fieldId": "textField_cust", "label": "客户编码", "componentName": "TextField", "parentId": ""},
    {"fieldId": "employeeField_saler", "label": "销售员", "componentName": "EmployeeField", "parentId": ""},
    {"fieldId": "tableField_rows", "label": "订单明细", "componentName": "TableField", "parentId": ""},
    {"fieldId": "textField_mat", "label": "物料编码", "componentName": "TextField", "parentId": "tableField_rows"},
    {"fieldId": "numberField_qty", "label": "数量", "componentName": "NumberField", "parentId": "tableField_rows"},
]


def yida_row(index):
    return {"formInstanceId": f"FINST-{index:04d}", "formUuid": FORM, "dataId": 1000 + index, "title": "张三发起的销售订单",
            "serialNo": f"XS{index:04d}", "sequence": f"XS{index:04d}", "version": 1,
            "createdTimeGMT": "2026-05-01 10:22:01", "modifiedTimeGMT": "2026-05-01 11:22:01",
            "creatorUserId": "u1", "modifierUserId": "u1",
            "originator": {"userId": "u1", "userName": {"nameInChinese": "张三", "nameInEnglish": "ZhangSan",
                                                        "type": "i18n"}},
            "modifyUser": {"userId": "u1", "userName": {"nameInChinese": "张三", "nameInEnglish": "ZhangSan",
                                                        "type": "i18n"}},
            "instanceValue": "", "formData": {"textField_cust": "CUST0001", "employeeField_saler": ["u1"],
                                              "tableField_rows": [{"textField_mat": "1.01.001", "numberField_qty": 2},
                                                                  {"textField_mat": "2.01.001", "numberField_qty": 5}]}}


class FakeYida:
    """The DingTalk client's Yida methods: 150 instances, searched in pages (bare objects, as v1.0 answers)."""

    yida_app_type = "APP_TEST"

    def __init__(self):
        self.rows = [yida_row(index) for index in range(150)]

    def yida_search(self, form_uuid, user_id, *, modified_from=None, modified_to=None, page=1, page_size=100):
        chunk = self.rows[(page - 1) * page_size: page * page_size]
        return {"currentPage": page, "totalCount": len(self.rows), "data": [dict(row) for row in chunk]}

    def yida_instance(self, instance_id, user_id):
        row = next((row for row in self.rows if row["formInstanceId"] == instance_id), None)
        if row is None:
            raise BusinessError("表单实例不存在", code="invalidParameter", system="dingtalk")
        return {"formInstId": instance_id, "modifiedTimeGMT": row["modifiedTimeGMT"], "formData": row["formData"],
                "originator": {"userId": "u1", "name": {"nameInChinese": "张三"}}}

    def yida_definitions(self, form_uuid, user_id):
        return [dict(item) for item in DEFINITIONS]


source(SourceCase("dingtalk.yida", {"form_uuid": FORM, "user_id": "u1"}, FakeYida, (START, START + timedelta(days=1)),
                  unknown_key="FINST-NONE"))

COLUMNS = [{"id": 101, "name": "出勤天数", "alias": "attendance_days", "type": 0, "sub_type": 0, "status": 0},
           {"id": 102, "name": "迟到次数", "alias": "late_times", "type": 0, "sub_type": 0, "status": 0}]
USERS = [{"userid": "u1", "name": "张伟", "job_number": "XH0001", "dept_id_list": [2]},
         {"userid": "u2", "name": "李娜", "job_number": "XH0002", "dept_id_list": [3]}]


class FakeAttendance:
    """The DingTalk client's contact and attendance methods, in topapi's shapes."""

    def list_users(self):
        return [dict(user) for user in USERS]

    def get_user(self, userid):
        user = next((user for user in USERS if user["userid"] == userid), None)
        if user is None:
            raise BusinessError("找不到该用户", code=60121, system="dingtalk")
        return dict(user)

    def attendance_columns(self):
        return [dict(column) for column in COLUMNS]

    def attendance_values(self, userid, column_ids, start, end):
        days = [(f"{start + timedelta(days=i):%Y-%m-%d} 00:00:00", "1.0") for i in range((end - start).days + 1)]
        return {str(column_id): days for column_id in column_ids}

    def leave_times(self, userid, names, start, end):
        return {name: [(f"{start:%Y-%m-%d} 00:00:00", "0.5" if name == "事假" else "0.0")] for name in names}

    def list_leavers(self, start, end=None):
        return []  # nobody left: ListEmpLeaveRecords' empty answer


source(SourceCase("dingtalk.attendance", {"day_of_month": 3, "columns": "出勤天数,late_times", "leave_types": "事假,年假"},
                  FakeAttendance, (START, START + timedelta(days=5)), unknown_key="nobody@2026-04"))


class FakeBills:
    """Kingdee bills in memory: BatchSave (create, or save over an FID), ExecuteBillQuery by `F in (…)` with
    FModifyDate moving on every save."""

    def __init__(self):
        self.bills = {}  # fid → {"number", "model", "modified"}
        self.ids, self.clock = count(100001), count(1)

    def batch_save(self, form_id, models, **options):
        outcomes = []
        for index, model in enumerate(models):
            if not model.get("FCustId"):
                outcomes.append(ItemOutcome(index, False, errors=[{"field": "FCustId",
                                                                   "message": "字段“客户”(FCustId)是必填项！"}]))
                continue
            fid = int(model.get("FID") or next(self.ids))
            number = self.bills.get(fid, {}).get("number") or f"XSDD{fid:08d}"
            self.bills[fid] = {"number": number, "model": dict(model), "modified": f"2026-05-01T10:00:{next(self.clock):02d}"}
            outcomes.append(ItemOutcome(index, True, fid, number))
        return outcomes

    def execute_bill_query(self, form_id, field_keys, filter_string="", order_string="", start_row=0, limit=2000):
        field, values = re.match(r"(\w+) in \((.*)\)", filter_string).groups()
        wanted = {value.replace("''", "'") for value in re.findall(r"'((?:[^']|'')*)'", values)}
        rows = []
        for fid, bill in sorted(self.bills.items()):
            own = str(fid) if field == "FID" else str(bill["model"].get(field, ""))
            if own in wanted:
                values = {"FID": fid, "FBillNo": bill["number"], "FDocumentStatus": "A", "FModifyDate": bill["modified"]}
                rows.append([values.get(key, bill["model"].get(key, "")) for key in field_keys])
        return rows


def orders():
    return {f"FINST-{i}": {"FBillTypeID": {"FNumber": "XSDD01_SYS"}, "FCustId": {"FNumber": "CUST0001"},
                           "FSaleOrderEntry": [{"FMaterialId": {"FNumber": "1.01.001"}, "FQty": i + 1}]}
            for i in range(3)}


def more(payload):
    return {**payload, "FSaleOrderEntry": [{**row, "FQty": row["FQty"] + 10} for row in payload["FSaleOrderEntry"]]}


target(TargetCase("kingdee.bill_upsert", {"form_id": "SAL_SaleOrder"}, FakeBills, orders,
                  dedupe_field="F_PORTAL_SourceId", changed=more,
                  rejected=lambda: ("FINST-BAD", {"FCustId": None, "FSaleOrderEntry": []})))
