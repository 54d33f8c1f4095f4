"""The org sync's adapters: DingTalk contacts (departments and people) and Kingdee master data."""

import re
from datetime import datetime, timedelta

from integrations.adapters.masterdata import flatten
from integrations.clients.errors import BusinessError
from integrations.clients.kingdee import ItemOutcome
from tests.contract.registry import SourceCase, TargetCase, source, target
from tests.integrations.fakes import BEIJING

START = datetime(2026, 5, 1, tzinfo=BEIJING)
DEPARTMENTS = [{"dept_id": 1, "name": "星河科技", "parent_id": None}, {"dept_id": 2, "name": "财务部", "parent_id": 1},
               {"dept_id": 3, "name": "核算组", "parent_id": 2}]
USERS = {2: [{"userid": "u1", "name": "张伟", "job_number": "XH0001", "mobile": "13800000001", "dept_id_list": [2]}],
         3: [{"userid": "u2", "name": "李娜", "job_number": "", "mobile": "13800000002", "dept_id_list": [3, 2]}]}


class FakeContacts:
    """The DingTalk client's contact methods, answering in topapi's shapes."""

    def walk_departments(self, roots=(1,), recursive=True):
        return [dict(d) for d in DEPARTMENTS]

    def list_department_users(self, dept_id):
        return [dict(user) for user in USERS.get(dept_id, [])]

    def list_leavers(self, start, end=None):
        return [{"userId": "gone1", "name": "王芳", "leaveTime": "2026-05-01T02:00:00Z"}]

    def get_user(self, userid):
        for users in USERS.values():
            for user in users:
                if user["userid"] == userid:
                    return dict(user)
        raise BusinessError("找不到该用户", code=60121, system="dingtalk")

    def get_department(self, dept_id):
        for dept in DEPARTMENTS:
            if dept["dept_id"] == dept_id:
                return dict(dept)
        raise BusinessError("部门不存在", code=60003, system="dingtalk")


source(SourceCase("dingtalk.contacts", {"records": "users"}, FakeContacts, (START, START + timedelta(days=1)),
                  name="dingtalk.contacts users"))
source(SourceCase("dingtalk.contacts", {"records": "departments"}, FakeContacts, (START, START + timedelta(days=1)),
                  name="dingtalk.contacts departments"))


class FakeMasterKingdee:
    """Kingdee base data in memory: BatchSave (create, or update by internal id with NeedUpDateFields),
    Forbid/Enable by number, ExecuteBillQuery by `<number key> in (…)`."""

    NUMBER = {"BD_Department": ("FDEPTID", "FNumber"), "BD_Empinfo": ("FID", "FStaffNumber")}

    def __init__(self):
        self.records = {}  # number → {"id", "forbidden", "entry", "fields": flat}
        self.next_id = 100000

    def batch_save(self, form_id, models, **options):
        pk, number_key = self.NUMBER[form_id]
        outcomes = []
        for index, model in enumerate(models):
            if model.get(pk):
                number, record = next((n, r) for n, r in self.records.items() if r["id"] == model[pk])
                if record["forbidden"]:
                    outcomes.append(ItemOutcome(index, False, errors=[{"field": "", "message": "数据已禁用"}]))
                    continue
                record["fields"].update(flatten({k: v for k, v in model.items() if k != pk}))
            else:
                number = model[number_key]
                if number in self.records:
                    message = f'编码为"{number}"的基础资料，组织内编码唯一'
                    outcomes.append(ItemOutcome(index, False, errors=[{"field": "FNumber", "message": message}]))
                    continue
                self.next_id += 1
                self.records[number] = {"id": self.next_id, "forbidden": False, "entry": self.next_id * 10,
                                        "fields": flatten(model)}
            outcomes.append(ItemOutcome(index, True, self.records[number]["id"], number))
        return outcomes

    def forbid(self, form_id, numbers):
        return self._flip(numbers, True)

    def enable(self, form_id, numbers):
        return self._flip(numbers, False)

    def _flip(self, numbers, forbidden):
        outcomes = []
        for index, number in enumerate(numbers):
            if number not in self.records:
                outcomes.append(ItemOutcome(index, False, errors=[{"field": "", "message": f"{number}不存在"}]))
                continue
            self.records[number]["forbidden"] = forbidden
            outcomes.append(ItemOutcome(index, True, self.records[number]["id"], number))
        return outcomes

    def execute_bill_query(self, form_id, field_keys, filter_string="", order_string="", start_row=0, limit=2000):
        if form_id not in self.NUMBER:
            return []
        wanted = {value.replace("''", "'") for value in re.findall(r"'((?:[^']|'')*)'", filter_string)}
        rows = []
        for number, record in self.records.items():
            if number in wanted:
                rows.append([self._value(record, number, key) for key in field_keys])
        return rows

    @staticmethod
    def _value(record, number, key):
        if key in ("FID", "FDEPTID"):
            return record["id"]
        if key in ("FNumber", "FStaffNumber"):
            return number
        if key == "FForbidStatus":
            return "B" if record["forbidden"] else "A"
        if key.endswith("_FEntryID"):
            return record["entry"]
        name = key.removesuffix(".FNumber")
        return next((value for flat, value in record["fields"].items() if flat.split(".")[-1] == name), "")


def departments():
    return {"2": {"FNumber": "DT2", "FName": "财务部", "FCreateOrgId": {"FNumber": "100"}},
            "3": {"FNumber": "DT3", "FName": "核算组", "FParentID": {"FNumber": "DT2"},
                  "FCreateOrgId": {"FNumber": "100"}}}


def employees():
    return {"u1": {"FStaffNumber": "XH0001", "FName": "张伟", "FMobile": "13800000001",
                   "FPostEntity": [{"FPostDept": {"FNumber": "DT2"}, "FIsFirstPost": "true"}]}}


def renamed(payload):
    return {**payload, "FName": payload["FName"] + "（新）"}


target(TargetCase("kingdee.masterdata", {"form_id": "BD_Department", "number_template": "DT{key}",
                                         "parent_field": "FParentID"}, FakeMasterKingdee, departments,
                  dedupe_field="FNumber", changed=renamed, name="kingdee.masterdata departments"))
target(TargetCase("kingdee.masterdata", {"form_id": "BD_Empinfo"}, FakeMasterKingdee, employees,
                  dedupe_field="FStaffNumber", changed=renamed, name="kingdee.masterdata employees"))
