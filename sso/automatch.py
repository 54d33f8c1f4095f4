"""Propose identity mappings from the people both systems know, and report what is not covered.

Matching is by mobile, then job number (= Kingdee staff number), then exact name, and only
when the match is unambiguous: two Kingdee users with the same name propose nothing.
Functions here take plain lists of dicts; `fetch_people` is the only one that calls out.
"""

import re
from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from integrations.clients import client_for

USER_FIELDS = ["FName", "FUserAccount", "FPhone"]
EMPLOYEE_FIELDS = ["FStaffNumber", "FName", "FMobile"]
MATCHED_BY = {"mobile": _("mobile"), "job_number": _("job number"), "name": _("exact name")}


@dataclass
class Proposal:
    userid: str
    name: str
    mobile: str
    kingdee_username: str
    staff_number: str
    matched_by: str

    @property
    def matched_by_label(self):
        return MATCHED_BY[self.matched_by]


def digits(mobile):
    """Compare mobiles by their last 11 digits: +86 138-0013-8000 and 13800138000 are one number."""
    return re.sub(r"\D", "", mobile or "")[-11:]


class Index:
    """Look-ups by mobile, number and name that answer only when exactly one record fits."""

    def __init__(self, records, mobile, number, name):
        self.keys = {"mobile": mobile, "job_number": number, "name": name}
        self.by = {kind: defaultdict(list) for kind in self.keys}
        for record in records:
            for kind, key in self.keys.items():
                value = (record.get(key) or "").strip()
                value = digits(value) if kind == "mobile" else value
                if value:
                    self.by[kind][value].append(record)

    def find(self, kind, value):
        value = digits(value) if kind == "mobile" else (value or "").strip()
        found = self.by[kind].get(value, []) if value else []
        return found[0] if len(found) == 1 else None


def propose(dingtalk_users, kingdee_users, employees, mapped_userids):
    """Proposals for the DingTalk users that have no mapping yet, in DingTalk's order."""
    users = Index(kingdee_users, "FPhone", "FStaffNumber", "FName")
    staff = Index(employees, "FMobile", "FStaffNumber", "FName")
    proposals = []
    for person in dingtalk_users:
        if person["userid"] in mapped_userids:
            continue
        proposal = match_one(person, users, staff)
        if proposal:
            proposals.append(proposal)
    return proposals


def match_one(person, users, staff):
    values = {"mobile": person.get("mobile"), "job_number": person.get("job_number"), "name": person.get("name")}
    for kind, value in values.items():
        employee = staff.find(kind, value)
        user = users.find(kind, value) or (employee and users.find("job_number", employee.get("FStaffNumber")))
        if user is None and employee is not None:
            user = users.find("name", employee.get("FName"))
        if user or employee:
            return Proposal(
                userid=person["userid"],
                name=person.get("name") or "",
                mobile=person.get("mobile") or "",
                kingdee_username=(user or {}).get("FName") or "",
                staff_number=(employee or {}).get("FStaffNumber") or (user or {}).get("FStaffNumber") or "",
                matched_by=kind,
            )
    return None


def coverage(dingtalk_users, kingdee_users, employees, mappings):
    """What the identity map misses: unmapped DingTalk users, and mappings that point at nobody in Kingdee."""
    usernames = {u.get("FName") for u in kingdee_users}
    numbers = {e.get("FStaffNumber") for e in employees}
    mapped = {m.dingtalk_userid for m in mappings}
    return {
        "unmapped": [p for p in dingtalk_users if p["userid"] not in mapped],
        "unknown_user": [m for m in mappings if m.kingdee_username and m.kingdee_username not in usernames],
        "unknown_staff": [m for m in mappings if m.kingdee_staff_number and m.kingdee_staff_number not in numbers],
    }


def fetch_people(sso):
    """(DingTalk users, Kingdee users, Kingdee employees) through the real clients; raises RemoteError."""
    dingtalk_users = [
        {"userid": u.get("userid"), "name": u.get("name"), "mobile": u.get("mobile"),
         "job_number": u.get("job_number") or u.get("jobnumber")}
        for u in client_for(sso.dingtalk).list_users()
    ]
    kingdee = client_for(sso.kingdee)
    return dingtalk_users, rows(kingdee, "SEC_User", USER_FIELDS), rows(kingdee, "BD_Empinfo", EMPLOYEE_FIELDS)


def rows(kingdee, form_id, keys):
    return [dict(zip(keys, (str(v) if v is not None else "" for v in row))) for row in kingdee.query_all(form_id, keys)]
