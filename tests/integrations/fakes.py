"""In-memory stand-ins for the DingTalk and Kingdee clients, with the same methods and answer shapes."""

import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from integrations.clients.errors import BusinessError, TransientError

BEIJING = ZoneInfo("Asia/Shanghai")
PROCESS_CODE = "PROC-TEST"


def claim(key, *, status="COMPLETED", result="agree", userid="u1", created=None, items=(("差旅费", "1000.50"),),
          biz_action="NONE"):
    created = created or datetime(2026, 5, 1, 9, 30, tzinfo=BEIJING)
    return {
        "process_instance_id": key, "title": f"张伟提交的费用报销 {key}", "status": status, "result": result,
        "business_id": f"BIZ-{key}", "biz_action": biz_action, "create_time": created.isoformat(),
        "finish_time": (created + timedelta(hours=5)).isoformat() if status != "RUNNING" else "",
        "originator_userid": userid, "originator_dept_id": "582976341", "originator_dept_name": "财务中心-核算部",
        "form": {
            "报销事由": "上海出差", "报销总额(元)": str(sum(float(a) for _l, a in items if a.replace(".", "").isdigit())),
            "报销明细": [
                {"费用发生日期": "2026-04-28", "费用明细": label, "报销金额(元)": amount, "收款人": "张伟",
                 "收款账号": "6222000011112222", "备注说明": ""}
                for label, amount in items
            ],
        },
        "form_ext": {},
    }


class FakeDingTalk:
    legacy_approvals = False

    def __init__(self, instances=()):
        self.instances = {item["process_instance_id"]: item for item in instances}
        self.calls = Counter()
        self.lock = threading.Lock()
        self.fail_get = {}  # key → exception
        self.notices = []

    def add(self, *instances):
        for item in instances:
            self.instances[item["process_instance_id"]] = item

    def _count(self, name):
        with self.lock:
            self.calls[name] += 1

    def list_instance_ids(self, process_code, start, end, statuses=None):
        self._count("list")
        for key, item in sorted(self.instances.items(), key=lambda pair: pair[1]["create_time"]):
            created = datetime.fromisoformat(item["create_time"])
            if start <= created <= end and (not statuses or item["status"] in statuses):
                yield key

    def get_instance(self, instance_id):
        self._count("get")
        if instance_id in self.fail_get:
            raise self.fail_get[instance_id]
        if instance_id not in self.instances:
            raise BusinessError("processInstanceNotExist", system="dingtalk")
        return {**self.instances[instance_id]}

    def send_work_notice(self, userids, title, markdown):
        self._count("notice")
        self.notices.append((list(userids), title, markdown))
        return "task-1"


@dataclass
class ItemOutcome:
    index: int
    ok: bool
    id: str = ""
    number: str = ""
    errors: list = field(default_factory=list)


class FakeKingdee:
    """Keeps bills by FTHIRDBILLNO; rejects unknown expense item numbers like IsVerifyBaseDataField does."""

    known_items = {"FYXM02_SYS", "FYXM11_SYS", "FYXM01_SYS"}

    def __init__(self):
        self.bills = []  # dicts: id, number, model
        self.calls = Counter()
        self.lock = threading.Lock()
        self.ids = itertools.count(100001)
        self.timeout_after_save = 0  # the next N batches are saved, then answer with a timeout
        self.fail_batches = 0  # the next N batches are refused before saving
        self.operations = []
        self.on_batch = None  # called with the models before saving (tests synchronise on it)

    def batch_save(self, form_id, models, **options):
        with self.lock:
            self.calls["BatchSave"] += 1
        if self.on_batch:
            self.on_batch(models)
        if self.fail_batches:
            self.fail_batches -= 1
            raise TransientError("connection reset", system="kingdee")
        outcomes = []
        for index, model in enumerate(models):
            bad = [row["FCOSTID"]["FNumber"] for row in model.get("FPAYBILLENTRY", [])
                   if row.get("FCOSTID", {}).get("FNumber") not in self.known_items]
            if bad and options.get("IsVerifyBaseDataField"):
                outcomes.append(ItemOutcome(index, False, errors=[{
                    "field": "FCOSTID", "message": f"第1行分录，字段“费用项目”(FCOSTID)的值“{bad[0]}”在基础资料中不存在！"}]))
                continue
            with self.lock:
                if model.get("FBillNo") and any(bill["number"] == model["FBillNo"] for bill in self.bills):
                    outcomes.append(ItemOutcome(index, False, errors=[{  # Kingdee's unique number (§6.3)
                        "field": "FBillNo", "message": f"违反字段唯一性要求：编码唯一。[{model['FBillNo']}]在当前系统中已经被使用。"}]))
                    continue
                bill_id = next(self.ids)
                bill = {"id": str(bill_id), "number": model.get("FBillNo") or f"FKD{bill_id:08d}", "model": model}
                self.bills.append(bill)
            outcomes.append(ItemOutcome(index, True, bill["id"], bill["number"]))
        if self.timeout_after_save:
            self.timeout_after_save -= 1
            raise TransientError("request timed out", system="kingdee")
        return outcomes

    def execute_bill_query(self, form_id, field_keys, filter_string="", order_string="", start_row=0, limit=2000):
        with self.lock:
            self.calls["ExecuteBillQuery"] += 1
        wanted = {part.strip().strip("'") for part in filter_string.split("(", 1)[1].rstrip(")").split(",")}
        return [[bill["id"], bill["number"], bill["model"]["FTHIRDBILLNO"]] for bill in self.bills
                if bill["model"].get("FTHIRDBILLNO") in wanted]

    def submit(self, form_id, numbers=None, ids=None):
        self.calls["Submit"] += 1
        self.operations.append(("submit", list(numbers)))
        return [ItemOutcome(index, True, number=number) for index, number in enumerate(numbers)]

    def audit(self, form_id, numbers=None, ids=None):
        self.calls["Audit"] += 1
        self.operations.append(("audit", list(numbers)))
        return [ItemOutcome(index, True, number=number) for index, number in enumerate(numbers)]

    def bills_for(self, key):
        return [bill for bill in self.bills if bill["model"].get("FTHIRDBILLNO") == key]
