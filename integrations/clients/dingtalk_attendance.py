"""Attendance reports (round 2 §5), as methods of the DingTalk client: column definitions, a person's daily
column values (≤ 20 columns, ≤ 31 days) and leave time by type names (≤ 20 names). Values are strings, one per
day; getleavetimebynames spells its keys `columns`/`columnvo`/`columnvals`, getcolumnval `column_vals`/`column_vo`.
"""

ATTENDANCE_TIME = "%Y-%m-%d %H:%M:%S"
MAX_COLUMNS = 20


class AttendanceCalls:
    def attendance_columns(self):
        """[{id, name, alias, type, sub_type, status}]: ids are per organisation."""
        return (self._oapi("topapi/attendance/getattcolumns", {}).get("result") or {}).get("columns") or []

    def attendance_values(self, userid, column_ids, start, end):
        """{column id: [(date text, value text)]} for one person, `start`..`end` (dates or datetimes)."""
        found = {}
        ids = [str(column_id) for column_id in column_ids]
        for first in range(0, len(ids), MAX_COLUMNS):
            body = {"userid": userid, "column_id_list": ",".join(ids[first:first + MAX_COLUMNS]),
                    "from_date": _time(start), "to_date": _time(end)}
            result = self._oapi("topapi/attendance/getcolumnval", body).get("result") or {}
            for column in result.get("column_vals") or []:
                found[str((column.get("column_vo") or {}).get("id"))] = [
                    (item.get("date"), item.get("value")) for item in column.get("column_vals") or []]
        return found

    def leave_times(self, userid, names, start, end):
        """{leave type name: [(date text, value text)]} for one person."""
        found = {}
        names = list(names)
        for first in range(0, len(names), MAX_COLUMNS):
            body = {"userid": userid, "leave_names": ",".join(names[first:first + MAX_COLUMNS]),
                    "from_date": _time(start), "to_date": _time(end)}
            result = self._oapi("topapi/attendance/getleavetimebynames", body).get("result") or {}
            for column in result.get("columns") or []:
                found[(column.get("columnvo") or {}).get("name")] = [
                    (item.get("date"), item.get("value")) for item in column.get("columnvals") or []]
        return found


def _time(day):
    return f"{day:%Y-%m-%d} 00:00:00" if not hasattr(day, "hour") else day.strftime(ATTENDANCE_TIME)
