"""DingTalk attendance as a source: each employee's summary of the previous month, booked on day N.

Round 2 §5. The listing names a month when day N of the following month (00:00 Beijing time) falls inside the
run's window; it then lists one key per employee, `<userid>@<YYYY-MM>`, and nothing on the other days, so a
scheme may run daily or hourly at no cost. Reading one key costs two quota calls: `getcolumnval` (the month's
daily values of the report columns, summed) and `getleavetimebynames` (leave per type); the column ids come from
`getattcolumns` once per run (they are per organisation: columns are named by name or alias). With the target
`kingdee.bill_upsert` a month is booked once per employee; a backfill over day N reads the month again and a
corrected value updates that employee's bill (unchanged ones are not written).

Leavers: DingTalk forgets a person who left (the contact APIs answer 60121), yet their attendance of the month
they worked is still in the report. A whole-organisation scheme also lists everyone `ListEmpLeaveRecords`
names as having left on or after the month's first day (round 2 §2.3; one quota-free call per page of 50); their
name comes from that record and their job number from the identity map's (disabled) row. A department-scoped
scheme cannot place a leaver in a department, so it books only the people still there.

The record: `userid`, `name`, `job_number`, `dept_id`, `month` (YYYY-MM), `month_start`, `month_end`, `left_at`
(a leaver's leave time as DingTalk gives it, else empty), each column
by name and by alias (a decimal text, e.g. `21` or `1.5`), each leave type by name, `请假合计`, and `请假明细` as
detail rows `{假期类型, 天数}`, one per configured type (0 when none was taken). DingTalk returns 0 for 应出勤天数 of days more than 15 days
back: book early in the month, or map the days from 出勤天数 and the leave.
"""

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.translation import gettext, gettext_lazy as _

from integrations import identity
from integrations.adapters.base import Listed, Param, SourceAdapter, register_source
from integrations.clients.errors import BusinessError

BEIJING = ZoneInfo("Asia/Shanghai")
COLUMNS = "应出勤天数,出勤天数,休息天数,迟到次数,迟到时长,早退次数,旷工天数,加班时长"
LEAVE_TYPES = "事假,病假,年假,调休,婚假,产假"


def split(text):
    return [item.strip() for item in str(text or "").replace("，", ",").split(",") if item.strip()]


def months_due(since, until, day):
    """The months whose summary is due in [since, until): the month before each day `day` in the window."""
    moment = since.astimezone(BEIJING)
    first = date(moment.year, moment.month, 1)
    due = []
    while True:
        booking = datetime(first.year, first.month, min(day, 28), tzinfo=BEIJING)
        if booking >= until:
            return due
        if booking >= since:
            previous = first - timedelta(days=1)
            due.append(f"{previous:%Y-%m}")
        first = (first + timedelta(days=32)).replace(day=1)


def month_range(month):
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def total(values):
    """The sum of daily value texts, as an exact decimal text ("21", "1.5"); text values are ignored."""
    found = Decimal(0)
    for _day, value in values:
        try:
            found += Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            continue
    text = format(found.normalize(), "f")
    return "0" if text in ("-0", "") else text


@register_source
class AttendanceSource(SourceAdapter):
    kind = "dingtalk.attendance"
    label = _("DingTalk attendance (monthly summary)")
    connection_kind = "dingtalk"
    settings_schema = {
        "day_of_month": Param(_("book the previous month on this day of the month (1–28)"), int, default=3),
        "columns": Param(_("report columns, by name or alias (comma-separated)"), default=COLUMNS),
        "leave_types": Param(_("leave types (comma-separated)"), default=LEAVE_TYPES),
        "departments": Param(_("department ids (comma-separated); empty: the whole organisation"), default=""),
    }

    @classmethod
    def check(cls, params):
        problems = super().check(params)
        if isinstance(params, dict):
            day = params.get("day_of_month")
            if day is not None and (not isinstance(day, int) or not 1 <= day <= 28):
                problems.append(gettext("“day_of_month” must be a whole number from 1 to 28."))
            if "departments" in params and not all(item.isdigit() for item in split(params.get("departments"))):
                problems.append(gettext("“departments” must be department ids separated by commas."))
        return problems

    def list(self, since, until, recheck_since=None):
        months = months_due(since, until, self.params["day_of_month"])
        if not months:
            return
        people = self.people()
        for month in months:
            start, _end = month_range(month)
            bound = datetime(start.year, start.month, 1, tzinfo=BEIJING)
            userids = [person["userid"] for person in people]
            userids += [userid for userid in self.leavers(bound) if userid not in userids]
            for userid in userids:
                yield Listed(f"{userid}@{month}", True, bound)

    def keys(self, since, until):
        return (listed.key for listed in self.list(since, until))

    def people(self):
        departments = split(self.params.get("departments"))
        if not departments:
            return self.client.list_users()
        found = {}
        for dept_id in departments:
            for user in self.client.list_department_users(int(dept_id)):
                found.setdefault(user["userid"], user)
        return list(found.values())

    def leavers(self, since):
        """Userids of the people who left on or after `since` (whole-organisation schemes only, see above)."""
        if split(self.params.get("departments")):
            return []
        return list(dict.fromkeys(str(item.get("userId")) for item in self.client.list_leavers(since)
                                  if item.get("userId")))

    def person(self, userid, month_start):
        """The person's contact record; for a leaver, what the leave record and the identity map still know."""
        try:
            return self.client.get_user(userid)
        except BusinessError as error:
            if str(error.code) != "60121":
                raise
            since = datetime(month_start.year, month_start.month, 1, tzinfo=BEIJING)
            record = next((item for item in self.client.list_leavers(since) if item.get("userId") == userid), None)
            if record is None:
                raise
            known = identity.kingdee_identity(userid, getattr(self, "connection_id", None), former=True) or {}
            return {"userid": userid, "name": record.get("name") or known.get("name") or "",
                    "job_number": known.get("staff_number") or "", "dept_id_list": [],
                    "left_at": str(record.get("leaveTime") or "")}

    def column_ids(self):
        """{wanted name or alias: (id, name, alias)} of the report columns this scheme reads."""
        if not hasattr(self, "_columns"):
            columns = self.client.attendance_columns()
            wanted = split(self.params["columns"])
            self._columns = {}
            for item in wanted:
                column = next((c for c in columns if item in (c.get("name"), c.get("alias"))), None)
                if column is None:
                    raise BusinessError(gettext("DingTalk's attendance report has no column “%(name)s”.") % {
                        "name": item}, code="unknown_column", system="dingtalk")
                self._columns[item] = (str(column["id"]), column.get("name") or item, column.get("alias") or "")
        return self._columns

    def fetch(self, key):
        userid, _at, month = key.rpartition("@")
        try:
            start, end = month_range(month)
        except ValueError:
            raise BusinessError(gettext("“%(key)s” is not a userid and a month (YYYY-MM).") % {"key": key},
                                code="bad_key", system="dingtalk") from None
        person = self.person(userid, start)
        columns = self.column_ids()
        values = self.client.attendance_values(userid, [column_id for column_id, _n, _a in columns.values()],
                                               start, end)
        leaves = self.client.leave_times(userid, split(self.params["leave_types"]), start, end)
        record = {"userid": userid, "name": person.get("name") or "", "job_number": person.get("job_number") or "",
                  "dept_id": str((person.get("dept_id_list") or [""])[0]), "month": month,
                  "month_start": f"{start:%Y-%m-%d}", "month_end": f"{end:%Y-%m-%d}",
                  "left_at": person.get("left_at") or ""}
        for column_id, name, alias in columns.values():
            record[name] = total(values.get(column_id, []))
            if alias:
                record.setdefault(alias, record[name])
        rows, taken = [], Decimal(0)
        for name in split(self.params["leave_types"]):
            record[name] = total(leaves.get(name, []))
            rows.append({"假期类型": name, "天数": record[name]})
            taken += Decimal(record[name])
        record["请假明细"] = rows
        record["请假合计"] = format(taken.normalize(), "f") if taken else "0"
        return record

    def summary(self, data):
        start = data.get("month_start")
        moment = datetime.fromisoformat(start).replace(tzinfo=BEIJING) if start else None
        return {"title": f"{data.get('name') or data.get('userid')} · {data.get('month', '')}"[:200],
                "number": str(data.get("month") or ""), "originator": str(data.get("userid") or "")[:64],
                "amount": None, "time": moment}
