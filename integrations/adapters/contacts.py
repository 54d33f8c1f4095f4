"""DingTalk contacts as a source: the departments or the people of a scope (reference §5, round 2 §2).

A scheme reads one of the two (`records`): departments are keyed by `dept_id`, people by `userid`. Listing is
department by department (listsub for the tree, `v2/user/list` pages of 100 for the members), about two
calls per department, never one per person; a comparison reads a share of them within a budget (`Sweep`).
People who left are reported as removed from DingTalk's leave records of the window; a person or
department that is gone when fetched (an event after the change) is removed too. Kingdee numbers are part of the record: a department's is the
prefix and its `dept_id`, a person's the job number (工号) or, when that is empty, the `userid`.
"""

import hashlib
import math
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.utils.translation import gettext, gettext_lazy as _

from integrations import identity
from integrations.adapters.base import Change, Listed, Param, SourceAdapter, Verdict, register_source
from integrations.clients.errors import BusinessError

DEPARTMENTS, USERS = "departments", "users"
ROOT = 1
STATE_SECONDS = 8 * 24 * 3600  # what the comparisons remember of the org (tree, members per department)
MIN_BUDGET = 50  # DingTalk calls a comparison may always spend (contacts are quota-free, 20 calls/s per API)
PAGE = 100  # v2/user/list's page size (round 2 §2.1)
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
        "calls_per_100": Param(_("DingTalk calls a comparison may make per 100 people (at least 50; 0: read "
                                 "every department every time)"), int, default=1),
        "full_walk_hours": Param(_("hours between full readings of every department"), int, default=24),
    }

    def __init__(self, params, client):
        super().__init__(params, client)
        self._scope = None
        self.connection_id = None  # the scheme's DingTalk connection (its organisation's identity rows): the engine

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
        """One comparison: every department of the scope (from the remembered tree), or the people of this
        comparison's share of departments, plus the leavers of the window (see `Sweep`)."""
        sweep = Sweep(self)
        if not self.reads_users:
            yield from sweep.departments()
            return
        seen = set()
        for listed in sweep.people():
            seen.add(listed.key)
            yield listed
        if since is not None:
            for leaver in self.client.list_leavers(since, until):
                if leaver["userId"] not in seen:
                    seen.add(leaver["userId"])
                    yield Listed(leaver["userId"], True, data=gone(leaver["userId"], leaver.get("name")),
                                 removed=True)

    def keys(self, since, until):
        return (listed.key for listed in self.list(since, until) if not listed.removed)

    def walk(self):
        """The departments of the scope, parents first, walked in full (one listsub per department)."""
        departments = self.client.walk_departments(self.roots, bool(self.params.get("sub_departments")))
        self._scope = {int(dept["dept_id"]) for dept in departments}
        return departments

    def scope(self):
        if self._scope is None:
            tree = Sweep(self).remembered_tree()
            if tree:
                self._scope = set(tree)
            else:
                self.walk()
        return self._scope

    @property
    def state_key(self):
        """The cache key of what the comparisons remember of this DingTalk organisation's scope."""
        address = (getattr(self.client, "base_url", None), getattr(self.client, "app_key", None))
        if not all(address):
            return None  # a client without an address (a fake): nothing remembered, every comparison reads all
        scope = (address, self.roots, bool(self.params.get("sub_departments")))
        return "dingtalk:contacts:sweep:" + hashlib.sha256(repr(scope).encode()).hexdigest()[:32]

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
                    identity.join(key, connection=self.connection_id, staff_number=outcome.number or data.get("staff_number", ""),
                                  name=data.get("name", ""), unionid=data.get("unionid", ""),
                                  mobile=data.get("mobile", ""),
                                  kingdee_username=(outcome.response or {}).get("kingdee_username", ""))
        if leavers:
            identity.set_active(leavers, False, connection=self.connection_id)
        if returning:
            identity.set_active(returning, True, connection=self.connection_id)

    # --- shapes ---------------------------------------------------------------------------

    def department(self, dept):
        dept_id, parent = int(dept["dept_id"]), dept.get("parent_id")
        in_scope = self.whole_company or dept_id in self.scope()
        if not in_scope and parent not in (None, "") and self.params.get("sub_departments") and \
                int(parent) in self.scope():
            in_scope = True  # new below a department of the scope (an event before the comparison saw it)
            self._scope.add(dept_id)
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


class Sweep:
    """How a comparison reads DingTalk within its budget (reference §5, round 2 §2.4).

    DingTalk has no org-wide listing: a department's direct children cost one listsub, its direct members one
    `v2/user/list` page of at most 100 people, so reading everything costs about two calls per department (a
    company of 5000 people in 300 departments: ~600 calls). The comparisons remember the tree and the members of
    each department (cache, `STATE_SECONDS`) and read a share of the departments each time, so that one
    comparison makes at most `calls_per_100` calls per 100 people (never fewer than `MIN_BUDGET`): a company whose
    full reading fits the budget is read in full every time; a bigger one in turns, every department once
    every few comparisons. Whatever events missed is repaired within that many intervals; leavers every time
    (one leave-records call), and a full reading every `full_walk_hours` (or when nothing is remembered).

    Change detection: a department whose listsub no longer names a remembered child has that child read
    (`department/get`): 60003 means removed (reported as removed by every comparison for `STATE_SECONDS`, so
    Kingdee forbids it as soon as it has no enabled employees; a forbidden one costs no call), otherwise it
    moved. A department new to the tree has its members read in the same comparison. A person missing from a
    department's page is read (`v2/user/get`): a mover or a leaver. Nobody else is read one by one."""

    def __init__(self, source):
        self.source, self.client = source, source.client
        self.params = source.params
        self.recursive = bool(self.params.get("sub_departments"))

    # --- what is remembered ---------------------------------------------------------------------

    def _get(self, part):
        key = self.source.state_key
        return cache.get(f"{key}:{part}") if key else None

    def _load(self, part):
        state = self._get(part)
        hours = self.params.get("full_walk_hours")
        hours = 24 if hours in (None, "") else int(hours)
        if not state or time.time() - state.get("walked_at", 0) > hours * 3600:
            return None
        return state

    def _save(self, part, state):
        if self.source.state_key:
            cache.set(f"{self.source.state_key}:{part}", state, STATE_SECONDS)

    def remembered_tree(self):
        state = self._get("tree")
        return state["tree"] if state else None

    def shares(self, tree, members):
        """How many comparisons read every department once: the cost of a full reading over the budget."""
        per_100 = self.params.get("calls_per_100")
        per_100 = 1 if per_100 in (None, "") else int(per_100)
        if per_100 <= 0 or members is None:
            return 1
        people = len({userid for ids in members.values() for userid in ids})
        budget = max(MIN_BUDGET, math.ceil(people * per_100 / 100))
        cost = sum(1 + max(1, math.ceil(len(members.get(dept_id, ())) / PAGE)) for dept_id in tree)
        return max(1, math.ceil(cost / (budget - 2)))  # 2: the leave records and a spare

    def share(self, tree, members, turn):
        shares = self.shares(tree, members)
        return [dept_id for position, dept_id in enumerate(sorted(tree)) if position % shares == turn % shares]

    # --- departments ----------------------------------------------------------------------------

    def departments(self):
        """Listed departments of the scope, parents first, and the removed ones found in this comparison."""
        state = self._load("tree")
        previous = (self._get("tree") or {}).get("tree") or {}
        removed = set()
        if state is None:
            tree = {int(d["dept_id"]): _node(d) for d in self.client.walk_departments(self.source.roots,
                                                                                      self.recursive)}
            suspects, turn = set(previous) - set(tree), 0
        else:
            tree, turn = dict(state["tree"]), state["turn"]
            members = (self._load("members") or {}).get("members")
            suspects = self.read_share(tree, self.share(tree, members, turn))
        while suspects:
            dept_id = suspects.pop()
            try:
                dept = self.client.get_department(dept_id)
            except BusinessError as error:
                if error.code not in DEPARTMENT_GONE:
                    raise
                removed.add(dept_id)
                tree.pop(dept_id, None)
                suspects |= {d for d, node in tree.items() if node["parent_id"] == dept_id}
                continue
            if dept_id in self.source.roots or int(dept.get("parent_id") or 0) in tree:
                tree[dept_id] = _node(dept)
            else:
                tree.pop(dept_id, None)  # moved out of the scope: no longer compared
        now = time.time()
        removed_at = {int(d): at for d, at in ((state or self._get("tree") or {}).get("removed") or {}).items()
                      if now - at < STATE_SECONDS and int(d) not in tree}
        removed_at.update({dept_id: now for dept_id in removed})
        self._save("tree", {"tree": tree, "turn": turn + 1, "walked_at": state["walked_at"] if state else now,
                            "removed": removed_at})
        self.source._scope = set(tree)
        for node in _parents_first(tree, self.source.roots):
            if node["dept_id"] != ROOT:
                yield Listed(str(node["dept_id"]), True, data=self.source.department(node))
        for dept_id in sorted(removed_at):  # again until settled: one still staffed in Kingdee is tried again
            yield Listed(str(dept_id), True, data=gone(str(dept_id)), removed=True)

    def read_share(self, tree, share):
        """Read the children of this comparison's departments into `tree`; returns the departments to read
        one by one (a remembered child no longer listed under its parent: moved or removed)."""
        suspects = set()
        for dept_id in share:
            if dept_id not in tree:
                continue
            if not self.recursive:
                suspects.add(dept_id)
                continue
            try:
                children = self.client.list_subdepartments(dept_id)
            except BusinessError as error:
                if error.code not in DEPARTMENT_GONE:
                    raise
                suspects.add(dept_id)
                continue
            listed = {int(child["dept_id"]) for child in children}
            for child in children:
                child_id = int(child["dept_id"])
                if child_id not in tree:
                    for dept in self.client.walk_departments([child_id], True):  # a new branch, read whole
                        tree[int(dept["dept_id"])] = _node(dept)
                tree[child_id] = _node(child)
            suspects |= {d for d, node in tree.items() if node["parent_id"] == dept_id and d not in listed}
        return suspects

    # --- people ---------------------------------------------------------------------------------

    def people(self):
        """Listed people of this comparison's departments, and those who left one of them (read one by one)."""
        tree = self.remembered_tree()
        if tree is None:
            tree = {int(d["dept_id"]): _node(d) for d in self.source.walk()}
        self.source._scope = set(tree)
        state = self._load("members")
        members = dict(state["members"]) if state else {}
        turn = state["turn"] if state else 0
        share = self.share(tree, members if state else None, turn)
        share += [dept_id for dept_id in sorted(tree) if state and dept_id not in members and dept_id not in share]
        seen, missing = set(), set()
        for dept_id in share:
            try:
                page = list(self.client.list_department_users(dept_id))
            except BusinessError as error:
                if error.code not in DEPARTMENT_GONE:
                    raise
                page = []
            ids = [user["userid"] for user in page]
            missing |= set(members.get(dept_id, ())) - set(ids)
            members[dept_id] = ids
            for user in page:
                if user["userid"] not in seen:
                    seen.add(user["userid"])
                    yield Listed(user["userid"], True, data=self.source.user(user))
        for userid in sorted(missing - seen):
            data = self.source.fetch(userid)
            yield Listed(userid, True, data=data, removed=bool(data.get("removed")))
        members = {dept_id: ids for dept_id, ids in members.items() if dept_id in tree}
        self._save("members", {"members": members, "turn": turn + 1,
                               "walked_at": state["walked_at"] if state else time.time()})


def _node(dept):
    parent = dept.get("parent_id")
    return {"dept_id": int(dept["dept_id"]), "name": dept.get("name") or "",
            "parent_id": int(parent) if parent not in (None, "") else None}


def _parents_first(tree, roots):
    children = {}
    for node in tree.values():
        children.setdefault(node["parent_id"], []).append(node["dept_id"])
    order, queue, done = [], [r for r in roots if r in tree], set()
    while queue:
        dept_id = queue.pop(0)
        if dept_id in done:
            continue
        done.add(dept_id)
        order.append(tree[dept_id])
        queue.extend(sorted(children.get(dept_id, ())))
    order.extend(tree[d] for d in sorted(set(tree) - done))
    return order


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
