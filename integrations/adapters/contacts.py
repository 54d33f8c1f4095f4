"""DingTalk contacts as a source: the departments or the people of a scope (reference §5, round 2 §2).

A scheme reads one of the two (`records`): departments are keyed by `dept_id`, people by `userid`. Listing is
department by department (listsub for the tree, `v2/user/list` pages of 100 for the members), so a full
comparison costs about two calls per department, never one per person. People who left are reported as
removed from DingTalk's leave records of the window; a person or department that is gone when fetched (an
event after the change) is removed too. Kingdee numbers are part of the record: a department's is the
prefix and its `dept_id`, a person's the job number (工号) or, when that is empty, the `userid`.
"""

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.utils.translation import gettext, gettext_lazy as _

from integrations import identity
from integrations.adapters.base import Change, Listed, Param, SourceAdapter, Verdict, register_source
from integrations.clients.errors import BusinessError

DEPARTMENTS, USERS = "departments", "users"
ROOT = 1
TREE_SECONDS = 120  # how long the departments scheme's walk serves the people scheme's listing
BEIJING = ZoneInfo("Asia/Shanghai")
DEPARTMENT_GONE, USER_GONE = {60003, "60003"}, {60121, "60121", 33012, "33012"}


@register_source
class ContactsSource(SourceAdapter):
    kind = "dingtalk.contacts"
    label = _("DingTalk contacts (departments or people)")
    connection_kind = "dingtalk"
    settings_schema = {
        "records": Param(_("what to read: departments or users"), default=USERS),
        "departments": Param(_("departments in scope (dept ids, comma separated; empty: the whole company)"),
                             default=""),
        "sub_departments": Param(_("with their sub-departments"), bool, default=True),
        "number_prefix": Param(_("Kingdee department number = this prefix + DingTalk dept_id"), default="DT"),
        "staff_number": Param(_("Kingdee staff number from: job_number (userid when empty) or userid"),
                              default="job_number"),
        "identity_rows": Param(_("a joiner gets an identity-map row (single sign-on from day one)"), bool,
                               default=False),
    }

    def __init__(self, params, client):
        super().__init__(params, client)
        self._scope = None

    @classmethod
    def check(cls, params):
        problems = super().check(params)
        if not isinstance(params, dict):
            return problems
        if params.get("records", USERS) not in (DEPARTMENTS, USERS):
            problems.append(gettext("“records” must be departments or users."))
        if params.get("staff_number", "job_number") not in ("job_number", "userid"):
            problems.append(gettext("“staff_number” must be job_number or userid."))
        try:
            _roots(params.get("departments"))
        except ValueError:
            problems.append(gettext("“departments” must be department ids separated by commas."))
        return problems

    @property
    def reads_users(self):
        return self.params["records"] == USERS

    @property
    def roots(self):
        return _roots(self.params.get("departments")) or [ROOT]

    # --- listing --------------------------------------------------------------------------

    def list(self, since, until, recheck_since=None):
        departments = self.walk()
        if not self.reads_users:
            for dept in departments:
                if int(dept["dept_id"]) != ROOT:
                    yield Listed(str(dept["dept_id"]), True, data=self.department(dept))
            return
        seen = set()
        for dept in departments:
            for user in self.client.list_department_users(int(dept["dept_id"])):
                if user["userid"] not in seen:
                    seen.add(user["userid"])
                    yield Listed(user["userid"], True, data=self.user(user))
        if since is not None:
            for leaver in self.client.list_leavers(since, until):
                if leaver["userId"] not in seen:
                    seen.add(leaver["userId"])
                    yield Listed(leaver["userId"], True, data=gone(leaver["userId"], leaver.get("name")),
                                 removed=True)

    def keys(self, since, until):
        return (listed.key for listed in self.list(since, until) if not listed.removed)

    def walk(self):
        """The departments of the scope, parents first; remembered as the scope. The departments scheme always
        walks DingTalk's tree and leaves it in the cache for a moment: the people scheme, run right after it in a
        comparison, reads its departments' members from that walk instead of walking the tree again."""
        recursive = bool(self.params.get("sub_departments"))
        address = (getattr(self.client, "base_url", None), getattr(self.client, "app_key", None))
        key = "dingtalk:contacts:tree:" + hashlib.sha256(repr((address, self.roots, recursive)).encode()).hexdigest()[
            :32] if all(address) else None
        departments = cache.get(key) if key and self.reads_users else None
        if departments is None:
            departments = self.client.walk_departments(self.roots, recursive)
            if key:
                cache.set(key, departments, TREE_SECONDS)
        self._scope = {int(dept["dept_id"]) for dept in departments}
        return departments

    def scope(self):
        if self._scope is None:
            self.walk()
        return self._scope

    # --- one record -----------------------------------------------------------------------

    def fetch(self, key):
        try:
            if self.reads_users:
                return self.user(self.client.get_user(key))
            return self.department(self.client.get_department(int(key)))
        except BusinessError as error:
            if error.code in (USER_GONE if self.reads_users else DEPARTMENT_GONE):
                return gone(key)
            raise

    def verdict(self, data):
        if data.get("removed"):
            return Verdict(Verdict.REMOVE, code="removed_at_source")
        if self.reads_users and not data.get("dept_id_list"):
            return Verdict(Verdict.SKIP, code="out_of_scope")
        if not self.reads_users and (int(data["dept_id"]) == ROOT or not data.get("in_scope", True)):
            return Verdict(Verdict.SKIP, code="out_of_scope")
        return Verdict(Verdict.WRITE)

    def summary(self, data):
        number = data.get("staff_number") if self.reads_users else data.get("number")
        return {"title": str(data.get("name") or "")[:200], "number": str(number or "")[:64],
                "originator": str(data.get("userid") or "")[:64], "amount": None, "time": None}

    def settled(self, items):
        """The identity map follows the people written: a joiner gets a row (with `identity_rows`), a re-hire's
        row is enabled again, a leaver's is disabled — single sign-on refuses them from this commit on."""
        if not self.reads_users:
            return
        leavers, returning = [], []
        for key, data, action, outcome in items:
            if action == "remove":
                leavers.append(key)
            elif action in (Change.CREATE, Change.ENABLE):
                returning.append(key)
                if self.params.get("identity_rows"):
                    identity.join(key, staff_number=outcome.number or data.get("staff_number", ""),
                                  name=data.get("name", ""), unionid=data.get("unionid", ""),
                                  mobile=data.get("mobile", ""),
                                  kingdee_username=(outcome.response or {}).get("kingdee_username", ""))
        if leavers:
            identity.set_active(leavers, False)
        if returning:
            identity.set_active(returning, True)

    # --- shapes ---------------------------------------------------------------------------

    def department(self, dept):
        dept_id, parent = int(dept["dept_id"]), dept.get("parent_id")
        in_scope = self.whole_company or dept_id in self.scope()
        parent_in_scope = parent not in (None, "", ROOT) and (self.whole_company or int(parent) in self.scope())
        prefix = self.params.get("number_prefix") or ""
        return {"dept_id": dept_id, "name": dept.get("name") or "", "parent_id": int(parent) if parent else None,
                "number": f"{prefix}{dept_id}", "parent_number": f"{prefix}{parent}" if parent_in_scope else "",
                "in_scope": in_scope}

    def user(self, user):
        dept_ids = [int(d) for d in user.get("dept_id_list") or []]
        if not self.whole_company:
            dept_ids = [d for d in dept_ids if d in self.scope()]
        main = dept_ids[0] if dept_ids else None
        job_number = str(user.get("job_number") or "").strip()
        staff_number = job_number if job_number and self.params.get("staff_number") == "job_number" else user["userid"]
        prefix = self.params.get("number_prefix") or ""
        return {"userid": user["userid"], "unionid": user.get("unionid") or "", "name": user.get("name") or "",
                "job_number": job_number, "staff_number": staff_number, "mobile": user.get("mobile") or "",
                "title": user.get("title") or "", "email": user.get("email") or "", "dept_id_list": dept_ids,
                "main_dept_id": main, "dept_number": f"{prefix}{main}" if main not in (None, ROOT) else "",
                "hired_date": _date(user.get("hired_date"))}

    @property
    def whole_company(self):
        return self.roots == [ROOT] and bool(self.params.get("sub_departments"))


def gone(key, name=""):
    return {"userid": key, "dept_id": key, "name": name or "", "removed": True}


def _roots(value):
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [int(v) for v in value]
    return [int(part) for part in str(value).replace("，", ",").split(",") if part.strip()]


def _date(millis):
    try:
        return datetime.fromtimestamp(int(millis) / 1000, BEIJING).strftime("%Y-%m-%d") if millis else ""
    except (TypeError, ValueError, OSError):
        return ""
