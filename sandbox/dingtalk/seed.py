"""Deterministic seed data for the DingTalk sandbox.

Same seed, same day ⇒ same state: ids, names, amounts and credentials come from
seeded random streams; only the approval dates move, because they are placed in the
last `days` days before today (Beijing time) so that the list APIs' 120-day window
finds them.
"""

import random
import string
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from sandbox import roster
from sandbox.dingtalk import accounting, forms, yida
from sandbox.dingtalk.models import App, ApprovalInstance, Department, Employee, ProcessTemplate, Robot

BEIJING = ZoneInfo("Asia/Shanghai")
Status = ApprovalInstance.Status

_REASONS = ["拜访客户", "参加行业展会", "项目现场实施", "部门团建", "季度复盘会议", "供应商考察", "新员工培训"]
_REFUSALS = ["票据不全，请补充后重新提交", "超出报销标准", "费用归属项目填写有误", "请附上发票原件照片"]
_CITIES = ["上海", "杭州", "深圳", "北京", "苏州", "南京", "成都"]
_PHOTOS = "https://static.dingtalk.com/media/"
_ADDRESSES = ["浙江省,杭州市,西湖区", "广东省,深圳市,南山区", "北京市,北京市,朝阳区", "江苏省,苏州市,工业园区"]


def seed_dingtalk(people, seed=roster.DEFAULT_SEED, instances=300, days=90):
    """Create or restore the sandbox's org chart, app, robot and approvals; returns their credentials."""
    with transaction.atomic():
        app, robot = _seed_app(seed), _seed_robot(seed)
        _seed_departments()
        employees = _seed_employees(people)
        _seed_approvals(employees, seed, instances, days)
        yida_app = yida.seed_yida(seed)
    return {
        "yida": yida_app,
        "dingtalk": {
            "app_key": app.app_key, "app_secret": app.app_secret, "agent_id": str(app.agent_id),
            "corp_id": app.corp_id, "process_code": roster.EXPENSE_PROCESS_CODE,
            "callback_token": app.callback_token, "callback_aes_key": app.callback_aes_key,
        },
        "dingtalk_robot": {"access_token": robot.access_token, "secret": robot.secret},
    }


def _text(rng, length, alphabet=string.ascii_letters + string.digits):
    return "".join(rng.choices(alphabet, k=length))


def _seed_app(seed):
    rng = random.Random(f"{seed}-app")
    key = "ding" + _text(rng, 16, string.ascii_lowercase + string.digits)
    app, _created = App.objects.update_or_create(app_key=key, defaults={
        "name": "钉钉⇄金蝶集成门户", "app_secret": _text(rng, 64), "agent_id": 3100000000 + rng.randint(0, 10**8),
        "corp_id": roster.CORP_ID, "callback_token": _text(rng, 16), "callback_aes_key": _text(rng, 43),
    })
    return app


def _seed_robot(seed):
    rng = random.Random(f"{seed}-robot")
    token = _text(rng, 64, "0123456789abcdef")
    robot, _created = Robot.objects.update_or_create(access_token=token, defaults={
        "name": "财务对账提醒群", "secret": "SEC" + _text(rng, 64, "0123456789abcdef"), "penalty_until": None,
    })
    return robot


def _seed_departments():
    depts = roster.departments()
    for order, dept in enumerate(depts):
        Department.objects.update_or_create(
            dept_id=dept.dept_id, defaults={"name": dept.name, "parent_id": dept.parent_id, "order": order}
        )
    Department.objects.exclude(dept_id__in=[d.dept_id for d in depts]).delete()


def _seed_employees(people):
    leaders = {}
    for person in people:
        leaders.setdefault(person.dept_ids[0], person.userid)
    parents = {d.dept_id: d.parent_id for d in roster.departments()}
    by_dept = {d.dept_id: d for d in Department.objects.all()}
    employees = []
    for index, person in enumerate(people):
        employee, _created = Employee.objects.update_or_create(userid=person.userid, defaults={
            "unionid": person.unionid, "name": person.name, "mobile": person.mobile, "email": person.email,
            "job_number": person.job_number, "title": person.title, "hired_date": person.hired_date,
            "bank_account": person.bank_account, "bank_name": person.bank_name, "active": person.active,
            "leader_in": [d for d, leader in leaders.items() if leader == person.userid],
            "manager_userid": _manager(person, leaders, parents), "admin": index == 0, "boss": index == 0,
        })
        employee.departments.set([by_dept[d] for d in person.dept_ids])
        employees.append(employee)
    Employee.objects.exclude(userid__in=[p.userid for p in people]).delete()
    return employees


def _manager(person, leaders, parents):
    dept = person.dept_ids[0]
    while dept is not None:
        leader = leaders.get(dept)
        if leader and leader != person.userid:
            return leader
        dept = parents.get(dept)
    return ""


def _dept_path(dept_id, by_id):
    names = []
    while dept_id in by_id and by_id[dept_id].parent_id is not None:
        names.append(by_id[dept_id].name)
        dept_id = by_id[dept_id].parent_id
    return "-".join(reversed(names))


def _seed_approvals(employees, seed, count, days):
    expense, _ = ProcessTemplate.objects.update_or_create(
        process_code=roster.EXPENSE_PROCESS_CODE, defaults={
            "name": roster.EXPENSE_PROCESS_NAME,
            "form": forms.template_form(roster.EXPENSE_FORM, roster.EXPENSE_TABLE_COLUMNS, forms.EXPENSE_OPTIONS)})
    travel, _ = ProcessTemplate.objects.update_or_create(
        process_code=forms.TRAVEL_PROCESS_CODE, defaults={
            "name": forms.TRAVEL_PROCESS_NAME,
            "form": forms.template_form(forms.TRAVEL_FORM, forms.TRAVEL_TABLE_COLUMNS, forms.TRAVEL_OPTIONS)})
    people = [e for e in Employee.objects.filter(active=True).prefetch_related("departments") if e in employees]
    builder = _Builder(random.Random(f"{seed}-approvals"), people, days)
    rows = [builder.expense(expense) for _ in range(count)]
    travel_count = min(12, max(3, count // 10)) if count else 0
    rows += [builder.travel(travel, index) for index in range(travel_count)]
    extra, extra_templates = accounting.seed(builder, count=min(12, count))  # loans and payment requests
    _store(rows + extra, [expense, travel, *extra_templates])


def _store(rows, templates):
    ids = [row.process_instance_id for row in rows]
    ApprovalInstance.objects.filter(template__in=templates).exclude(process_instance_id__in=ids).delete()
    existing = dict(ApprovalInstance.objects.filter(process_instance_id__in=ids)
                    .values_list("process_instance_id", "pk"))
    for row in rows:
        row.pk = existing.get(row.process_instance_id)
    fields = [f.name for f in ApprovalInstance._meta.concrete_fields
              if not f.primary_key and f.name != "process_instance_id"]
    ApprovalInstance.objects.bulk_update([r for r in rows if r.pk], fields, batch_size=200)
    ApprovalInstance.objects.bulk_create([r for r in rows if not r.pk], batch_size=200)


def _iso(moment):
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Builder:
    """Draws approval instances from one random stream, in a fixed order."""

    def __init__(self, rng, people, days):
        self.rng, self.people, self.days = rng, people, days
        self.anchor = datetime.now(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        self.by_userid = {p.userid: p for p in people}
        self.depts = {d.dept_id: d for d in Department.objects.all()}
        self.finance = self._leader_of("核算部")
        self.cashier = self._leader_of("资金部")
        self.main_dept = {p.userid: p.departments.all()[0] for p in people}

    def _leader_of(self, dept_name):
        for person in self.people:
            if any(self.depts[d].name == dept_name for d in person.leader_in if d in self.depts):
                return person.userid
        return self.people[0].userid

    def expense(self, template):
        person = self.rng.choice(self.people)
        instance = self._instance(template, person, f"{person.name}提交的{template.name}")
        instance.form_values = self._expense_form(person, instance.create_time)
        return instance

    def travel(self, template, index):
        person = self.rng.choice(self.people)
        instance = self._instance(template, person, f"{person.name}提交的{template.name}")
        instance.form_values = self._travel_form(person, instance.create_time, index)
        return instance

    def _instance(self, template, person, title):
        rng = self.rng
        create = self.anchor - timedelta(seconds=rng.randint(3600, self.days * 86400))
        status, result = self._outcome()
        finish = None
        if status != Status.RUNNING:
            finish = min(create + timedelta(minutes=rng.randint(20, 3 * 24 * 60)), self.anchor - timedelta(minutes=1))
        dept_id = self.main_dept[person.userid].dept_id
        approvers = [u for u in dict.fromkeys([person.manager_userid, self.finance]) if u and u != person.userid]
        approvers = approvers or [self.people[0].userid]
        instance = ApprovalInstance(
            process_instance_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), template=template,
            title=title, status=status, result=result, business_id=create.strftime("%Y%m%d%H%M")
            + f"{rng.randint(0, 10**9 - 1):09d}", originator=person, originator_dept_id=str(dept_id),
            originator_dept_name=_dept_path(dept_id, self.depts), create_time=create, finish_time=finish,
            approver_userids=approvers, cc_userids=[self.cashier],
        )
        instance.operation_records, instance.tasks = self._flow(instance, approvers)
        return instance

    def _outcome(self):
        draw = self.rng.random()
        for limit, status, result in ((0.70, Status.COMPLETED, "agree"), (0.80, Status.COMPLETED, "refuse"),
                                      (0.88, Status.RUNNING, ""), (0.95, Status.TERMINATED, "")):
            if draw < limit:
                return status, result
        return Status.CANCELED, ""

    def _flow(self, instance, approvers):
        rng, status = self.rng, instance.status
        stop = rng.randrange(len(approvers))  # who refuses, or whose task is open or cancelled
        acting = approvers if instance.result == "agree" else approvers[: stop + 1]
        end = instance.finish_time or min(instance.create_time + timedelta(hours=rng.randint(1, 48)),
                                          self.anchor - timedelta(minutes=1))
        records = [_record(instance.originator.userid, instance.create_time, "START_PROCESS_INSTANCE", "NONE")]
        tasks = []
        for index, userid in enumerate(acting):
            opened = instance.create_time + (end - instance.create_time) * index / len(acting) + timedelta(seconds=1)
            done = instance.create_time + (end - instance.create_time) * (index + 1) / len(acting)
            last = index == len(acting) - 1
            task = {"task_id": rng.randint(10**10, 10**11 - 1), "userid": userid,
                    "activity_id": f"{rng.getrandbits(16):04x}_{rng.getrandbits(16):04x}",
                    "create_time": _iso(opened)}
            if last and status == Status.RUNNING:
                tasks.append({**task, "status": "RUNNING", "result": "NONE"})
                continue
            if last and status in (Status.TERMINATED, Status.CANCELED):
                tasks.append({**task, "status": "CANCELED", "result": "NONE", "finish_time": _iso(done)})
                records.append(_record(instance.originator.userid, done, "TERMINATE_PROCESS_INSTANCE", "NONE"))
                continue
            refused = last and instance.result == "refuse"
            tasks.append({**task, "status": "COMPLETED", "result": "REFUSE" if refused else "AGREE",
                          "finish_time": _iso(done)})
            remark = rng.choice(_REFUSALS) if refused else ""
            records.append(_record(userid, done, "EXECUTE_TASK_NORMAL", "REFUSE" if refused else "AGREE", remark))
        return records, tasks

    def _expense_form(self, person, created):
        rng, options = self.rng, forms.EXPENSE_OPTIONS
        kind = rng.choice(options["报销类别"])
        sub = rng.choice(roster.REIMBURSEMENT_KINDS[kind])
        project = "无" if kind == "行政报销" else rng.choice(roster.PROJECTS[:-1])
        legacy = rng.random() < 0.15
        rows, total = [], Decimal(0)
        for _ in range(rng.choices([1, 2, 3, 4], weights=[40, 30, 20, 10])[0]):
            round_sum = rng.random() < 0.4
            amount = Decimal(rng.randint(2, 300) * 10) if round_sum else Decimal(rng.randint(1000, 300000)) / 100
            total += amount
            rows.append(self._expense_row(person, created, amount, legacy))
        (sel_kind, sel_admin, sel_project_kind, sel_project, reason, table, money, attachment) = roster.EXPENSE_FORM
        items = [label for label in (r[1]["value"] for r in rows)]
        return [
            forms.component(*sel_kind, kind, forms.select_ext(kind, options["报销类别"])),
            self._conditional(sel_admin, sub if kind == "行政报销" else None, options["行政报销类型"]),
            self._conditional(sel_project_kind, sub if kind == "项目报销" else None, options["项目报销类型"]),
            forms.component(*sel_project, project, forms.select_ext(project, options["费用归属项目"])),
            forms.component(*reason, f"{sub}：{'、'.join(dict.fromkeys(items))}报销"),
            forms.component(*table, forms.table_value(table[0], rows, rng),
                            {"statValue": [], "componentName": "TableField"}),
            forms.component(*money, forms.money_text(total),
                            {"upper": forms.rmb_upper(total), "componentName": "MoneyField"}),
            forms.component(*attachment, self._attachment()),
        ]

    @staticmethod
    def _conditional(spec, value, options):
        if value is None:  # hidden by the form's condition: DingTalk sends the text "null"
            return forms.component(*spec, "null")
        return forms.component(*spec, value, forms.select_ext(value, options))

    def _expense_row(self, person, created, amount, legacy):
        rng = self.rng
        day, item, money, payee, account, note = roster.EXPENSE_TABLE_COLUMNS
        label = rng.choice(forms.EXPENSE_OPTIONS["费用明细"])
        spent = (created - timedelta(days=rng.randint(0, 20))).strftime("%Y-%m-%d")
        remark = rng.choice(["null", "null", "含税", "已附发票", ""])
        return [
            forms.table_cell(day, spent, legacy=legacy),
            forms.table_cell(item, label, forms.select_ext(label, forms.EXPENSE_OPTIONS["费用明细"]), legacy),
            forms.table_cell(money, forms.money_text(amount), legacy=legacy),
            forms.table_cell(payee, person.name, legacy=legacy),
            forms.table_cell(account, person.bank_account, legacy=legacy),
            forms.table_cell(note, remark, legacy=legacy),
        ]

    def _attachment(self):
        if self.rng.random() < 0.4:
            return "null"
        return forms.dumps([{"spaceId": "2" + f"{self.rng.getrandbits(32):010d}", "fileName": "发票.pdf",
                             "fileSize": str(self.rng.randint(10000, 900000)), "fileType": "pdf",
                             "fileId": str(self.rng.randint(10**10, 10**11))}])

    def _travel_form(self, person, created, index):
        rng, spec = self.rng, dict((label, (cid, label, kind)) for cid, label, kind in forms.TRAVEL_FORM)
        start = created + timedelta(days=rng.randint(1, 10))
        nights = rng.randint(1, 4)
        vehicle, modes = rng.choice(forms.TRAVEL_OPTIONS["交通工具"]), rng.sample(forms.TRAVEL_OPTIONS["出行方式"], 2)
        companion = rng.choice([p for p in self.people if p.userid != person.userid])
        dept = self.main_dept[person.userid]
        city_from, city_to = rng.sample(_CITIES, 2)
        rows = [] if index % 3 == 0 else [[
            forms.table_cell(forms.TRAVEL_TABLE_COLUMNS[0], city_from),
            forms.table_cell(forms.TRAVEL_TABLE_COLUMNS[1], city_to),
            forms.table_cell(forms.TRAVEL_TABLE_COLUMNS[2], forms.money_text(Decimal(rng.randint(30, 120) * 10))),
        ]]
        budget = Decimal(rng.randint(100, 800) * 10)
        values = [
            forms.component(*spec["出差事由"], rng.choice(_REASONS)),
            forms.component(*spec["交通工具"], vehicle, forms.select_ext(vehicle, forms.TRAVEL_OPTIONS["交通工具"])),
            forms.component(*spec["出行方式"], forms.dumps(modes),
                            [forms.select_ext(m, forms.TRAVEL_OPTIONS["出行方式"]) for m in modes]),
            forms.component(*spec['["开始时间","结束时间"]'], forms.dumps(
                [start.strftime("%Y-%m-%d"), (start + timedelta(days=nights)).strftime("%Y-%m-%d"),
                 None if index % 2 else nights + 1])),
            forms.component(*spec["出差天数"], str(nights + 1)),
            forms.component(*spec["同行人"], companion.name, [{"emplId": companion.userid, "name": companion.name,
                            "avatar": "", "selectDeptId": "", "selectDeptName": ""}]) if index % 2 == 0
            else forms.component(*spec["同行人"], "null"),
            forms.component(*spec["费用承担部门"], dept.name, [{"id": dept.dept_id, "name": dept.name}]),
            forms.component(*spec["目的地"], rng.choice(_ADDRESSES)),
            {"id": spec[""][0], "component_type": "TextNote"},
            forms.component(*spec["行程明细"], forms.table_value(spec["行程明细"][0], rows, rng) if rows
                            else forms.table_schema(forms.TRAVEL_TABLE_COLUMNS),
                            {"statValue": [], "componentName": "TableField"}),
            forms.component(*spec["预计费用(元)"], forms.money_text(budget),
                            {"upper": forms.rmb_upper(budget), "componentName": "MoneyField"}),
            forms.component(*spec["图片"], forms.dumps([f"{_PHOTOS}lADP{rng.getrandbits(48):012x}.jpg"])
                            if index % 2 else "null"),
            forms.component(*spec["附件"], self._attachment()),
            forms.component(*spec["关联审批"], "null"),
        ]
        return values


def _record(userid, moment, kind, result, remark=""):
    record = {"userid": userid, "date": _iso(moment), "type": kind, "result": result}
    if remark:
        record["remark"] = remark
    return record
