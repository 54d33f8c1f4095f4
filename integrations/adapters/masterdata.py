"""Kingdee master data as a target: upsert by business number, forbid instead of delete (round 2 §2–3).

One form per scheme (BD_Department, BD_Empinfo …). `find` reads the current records of a batch in one
query; `plan` compares them with the new payload field by field: nothing changed → nothing is written;
changed fields only → Save with the internal id, `NeedUpDateFields` and `IsDeleteEntry: false` (an omitted
post row would otherwise be deleted); a forbidden record (a re-hire) is enabled first. A field the portal
wrote that was changed in Kingdee since is a conflict for a person, unless the person chose to keep
Kingdee's value for it. Removal is `ExcuteOperation` Forbid; a department is forbidden only when no enabled
employee still sits in it.

Fields are compared flat: `FName`, `FParentID` (a reference, by its number), `FPostEntity.FPostDept` (the
first row of an entry).
"""

from django.utils.translation import gettext_lazy as _

from integrations import reasons
from integrations.adapters.base import Change, Outcome, Param, TargetAdapter, register_target
from integrations.adapters.kingdee import quote

# form → (primary key, number key, fields read when no payload says which)
FORMS = {
    "BD_DEPARTMENT": ("FDEPTID", "FNumber", {"FName": False, "FParentID": True}),
    "BD_EMPINFO": ("FID", "FStaffNumber", {"FName": False, "FMobile": False, "FPostEntity.FPostDept": True}),
}
GENERIC = ("FID", "FNumber", {"FName": False})
CREATE_ONLY = ("FCreateOrgId,FUseOrgId,FJoinDate,FCreateSaler,FCreateUser,FCreateCashier,FEffectDate,FLapseDate,"
               "FPostEntity.FWorkOrgId,FPostEntity.FStaffStartDate,FPostEntity.FIsFirstPost")
NUMBER_KEYS = ("FNUMBER", "FSTAFFNUMBER")
WRAPPER = ("Model", "NeedUpDateFields", "IsDeleteEntry", "Number", "Enable", "State")
FORBIDDEN, ENTRIES = "_forbidden", "_entries"
QUERY_CHUNK = 200


def scalar(value):
    """A field's comparable value: a reference by its number, None as "", everything else as text."""
    if isinstance(value, dict):
        return next((str(v) for k, v in value.items() if k.upper() in NUMBER_KEYS and v not in (None, "")), "")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(payload):
    """{field: comparable value}, an entry's first row as `Entry.Field`."""
    flat = {}
    for key, value in (payload or {}).items():
        if isinstance(value, list):
            row = value[0] if value and isinstance(value[0], dict) else {}
            flat.update({f"{key}.{sub}": scalar(item) for sub, item in row.items() if sub.upper() != "FENTRYID"})
        else:
            flat[key] = scalar(value)
    return flat


def references(payload):
    """The flat names of the fields that hold a reference ({"FNumber": …})."""
    found = set()
    for key, value in (payload or {}).items():
        if isinstance(value, dict):
            found.add(key)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            found.update(f"{key}.{sub}" for sub, item in value[0].items() if isinstance(item, dict))
    return found


@register_target
class MasterDataTarget(TargetAdapter):
    kind = "kingdee.masterdata"
    label = _("Kingdee master data (upsert and forbid)")
    connection_kind = "kingdee"
    mode = TargetAdapter.MASTER
    settings_schema = {
        "form_id": Param(_("form id"), required=True, default="BD_Empinfo"),
        "number_template": Param(_("Kingdee number of a source key"), default="{key}",
                                 help=_("Used when a record must be found by its key alone, e.g. DT{key}.")),
        "parent_field": Param(_("field naming the parent record (written first)"), default=""),
        "audit": Param(_("submit and audit new records"), bool, default=True),
        "verify_base_data": Param(_("verify base-data numbers (IsVerifyBaseDataField)"), bool, default=True),
        "create_only": Param(_("fields written only when a record is created (comma separated)"),
                             default=CREATE_ONLY),
    }

    @property
    def form_id(self):
        return self.params["form_id"]

    @property
    def pk(self):
        return FORMS.get(self.form_id.upper(), GENERIC)[0]

    @property
    def number_key(self):
        return FORMS.get(self.form_id.upper(), GENERIC)[1]

    @property
    def create_only(self):
        return {name.strip() for name in str(self.params.get("create_only") or "").split(",") if name.strip()}

    def with_dedupe_key(self, key, payload):
        """A master record is found by its own business number (the mapping's), never by the source key."""
        return payload

    def number_for(self, key, payload=None):
        if payload:
            number = scalar((payload.get("Model") or payload).get(self.number_key))
            if number:
                return number
        return str(self.params.get("number_template") or "{key}").replace("{key}", str(key))

    def key_for(self, number):
        template = str(self.params.get("number_template") or "{key}")
        prefix, _sep, suffix = template.partition("{key}")
        if number.startswith(prefix) and number.endswith(suffix) and len(number) > len(prefix) + len(suffix):
            return number[len(prefix):len(number) - len(suffix)]
        return number

    # --- reading ----------------------------------------------------------------------------

    def find(self, keys):
        """{key: Outcome with `state`} of the records that exist. `keys` are source keys, or (key, payload)
        pairs — the new payload, or for a removal the last one written (the ledger's) — whose own number is
        then used: a person's job number cannot be derived from their userid."""
        pairs = [item if isinstance(item, tuple) else (item, None) for item in keys]
        numbers = {self.number_for(key, payload): key for key, payload in pairs}
        payloads = [payload.get("Model") or payload for _key, payload in pairs if payload]
        fields = self.fields_of(payloads)
        found = {}
        for number, row in self.read(list(numbers), fields).items():
            found[numbers[number]] = Outcome(True, str(row.pop("_id")), number, state=row)
        return found

    def fields_of(self, payloads):
        """{flat field: is a reference} to read, from the payloads (or the form's defaults)."""
        defaults = FORMS.get(self.form_id.upper(), GENERIC)[2]
        if not payloads:
            return dict(defaults)
        fields = {}
        for payload in payloads:
            refs = references(payload)
            for name in flatten(payload):
                if name not in self.create_only and name not in (self.pk, self.number_key):
                    fields[name] = name in refs
        return fields

    def read(self, numbers, fields):
        """{number: {"_id": internal id, field: value, "_forbidden": bool, "_entries": {entry: entry id}}}."""
        names = list(fields)
        entries = sorted({name.split(".")[0] for name in names if "." in name})
        keys = [self.pk, self.number_key, "FForbidStatus"] + [f"{entry}_FEntryID" for entry in entries]
        keys += [_query_key(name, fields[name]) for name in names]
        rows = {}
        for start in range(0, len(numbers), QUERY_CHUNK):
            chunk = numbers[start:start + QUERY_CHUNK]
            wanted = f"{self.number_key} in ({','.join(quote(n) for n in chunk)})"
            for values in self.client.execute_bill_query(self.form_id, keys, wanted, f"{self.pk} ASC", 0, 10000):
                number = str(values[1])
                if number in rows:  # one row per entry: the first row stands for the record
                    continue
                entry_ids = dict(zip(entries, values[3:3 + len(entries)]))
                state = {name: scalar(value) for name, value in zip(names, values[3 + len(entries):])}
                rows[number] = {"_id": values[0], **state, FORBIDDEN: str(values[2]) == "B", ENTRIES: entry_ids}
        return rows

    # --- deciding ---------------------------------------------------------------------------

    def plan(self, key, payload, existing, written):
        payload = payload.get("Model") if isinstance(payload, dict) and "Model" in payload else payload
        wanted = self.synced(payload)
        if existing is None:
            return Change(Change.CREATE, {"Model": payload, "Number": self.number_for(key, payload), "State": wanted})
        state = existing.state or {}
        kept, last = _written(written)
        changed = [name for name, value in wanted.items() if name not in kept and scalar(state.get(name)) != value]
        conflicts = {name: {"source": wanted[name], "target": scalar(state.get(name)), "written": last[name]}
                     for name in changed if name in last and scalar(state.get(name)) != last[name]}
        if conflicts:
            return Change(Change.CONFLICT, conflicts=conflicts)
        forbidden = bool(state.get(FORBIDDEN))
        if not changed and not forbidden:
            return Change(Change.UNCHANGED)
        change = {"Model": self.update_model(payload, changed, existing), "NeedUpDateFields": [],
                  "IsDeleteEntry": "false", "Number": existing.number or self.number_for(key, payload),
                  "State": {**{n: scalar(state.get(n)) for n in wanted if n in kept}, **{n: wanted[n] for n in wanted
                                                                                       if n not in kept}}}
        change["NeedUpDateFields"] = self.update_fields(change["Model"])
        if forbidden:
            change["Enable"] = True
        return Change(Change.ENABLE if forbidden else Change.UPDATE, change, tuple(changed))

    def synced(self, payload):
        """The fields the portal keeps equal to DingTalk's (creation-only fields are written once)."""
        return {name: value for name, value in flatten(payload).items()
                if name not in self.create_only and name not in (self.pk, self.number_key)}

    def update_model(self, payload, changed, existing):
        model = {self.pk: int(existing.id)}
        entry_ids = (existing.state or {}).get(ENTRIES) or {}
        for name in changed:
            entry, _dot, _field = name.partition(".")
            if not _dot:
                model[name] = payload[name]
            elif entry not in model:
                row = dict(payload[entry][0])
                if entry_ids.get(entry):
                    row["FEntryID"] = entry_ids[entry]
                model[entry] = [row]
        return model

    def update_fields(self, model):
        fields = []
        for name, value in model.items():
            if name == self.pk:
                continue
            fields.append(name)
            if isinstance(value, list):
                fields.extend(sub for sub in value[0] if sub.upper() != "FENTRYID")
        return fields

    def depends_on(self, key, payload):
        parent = self.params.get("parent_field")
        if not parent:
            return []
        model = payload.get("Model") if isinstance(payload, dict) and "Model" in payload else payload
        number = scalar((model or {}).get(parent))
        return [self.key_for(number)] if number else []

    # --- writing ----------------------------------------------------------------------------

    def write(self, items):
        outcomes = [None] * len(items)
        changes = [(index, payload if "Model" in payload else {"Model": payload, "Number": self.number_for(key, payload)})
                   for index, (key, payload) in enumerate(items)]
        enabling = [(index, change) for index, change in changes if change.get("Enable")]
        if enabling:
            results = self.client.enable(self.form_id, [change["Number"] for _index, change in enabling])
            for (index, change), result in zip(enabling, results):
                if not result.ok:
                    outcomes[index] = self.outcome(result, change)
        groups = {}
        for index, change in changes:
            if outcomes[index] is None:
                fields = tuple(change["NeedUpDateFields"]) if "NeedUpDateFields" in change else None
                groups.setdefault(fields, []).append((index, change))
        for fields, group in groups.items():
            if fields == ():  # enabled again, nothing else changed
                for index, change in group:
                    outcomes[index] = Outcome(True, str(change["Model"].get(self.pk) or ""), change["Number"],
                                              state=change.get("State"))
                continue
            options = {"IsVerifyBaseDataField": bool(self.params["verify_base_data"])}
            if fields:
                options.update(NeedUpDateFields=list(fields), IsDeleteEntry="false")
            elif self.params["audit"]:
                options["IsAutoSubmitAndAudit"] = True
            results = self.client.batch_save(self.form_id, [change["Model"] for _index, change in group], **options)
            for (index, change), result in zip(group, results):
                outcomes[index] = self.outcome(result, change)
            if fields is None:
                self.name_login_users([outcomes[index] for index, change in group
                                       if outcomes[index].ok and _truthy(change["Model"].get("FCreateUser"))])
        return outcomes

    def name_login_users(self, outcomes):
        """New employees saved with FCreateUser got a Kingdee login user: its name goes on the outcome
        (`response["kingdee_username"]`), for the identity map."""
        if not outcomes:
            return
        wanted = f"FStaffNumber in ({','.join(quote(o.number) for o in outcomes)})"
        users = {str(number): str(name) for name, number in
                 self.client.execute_bill_query("SEC_User", ["FName", "FStaffNumber"], wanted, "", 0, 10000)}
        for outcome in outcomes:
            if outcome.number in users:
                outcome.response["kingdee_username"] = users[outcome.number]

    def outcome(self, result, change):
        errors = list(result.errors or [])
        message = "；".join(error.get("message") or "" for error in errors)
        response = {"ok": result.ok, "id": result.id, "number": result.number, "errors": errors}
        if result.ok:
            return Outcome(True, str(result.id or ""), str(result.number or change["Number"]), response=response,
                           state=change.get("State"))
        waiting = any("不存在" in (error.get("message") or "") and _is_dependency(error.get("field")) for error in errors)
        return Outcome(False, number=change["Number"], message=message, response=response, waiting=waiting,
                       code="dependency_missing" if waiting else "target_refused",
                       params={"message": message, "number": change["Number"]})

    def remove(self, items):
        """Forbid, by number; already forbidden or never created counts as done (no call). A department
        that still has enabled employees is left for a person."""
        outcomes = [None] * len(items)
        todo = []
        for index, (key, existing) in enumerate(items):
            number = existing.number if existing is not None and existing.number else self.number_for(key)
            if existing is not None and (existing.state or {}).get(FORBIDDEN):
                outcomes[index] = Outcome(True, existing.id, number)
            else:
                todo.append((index, number))
        staffed = self.staffed([number for _index, number in todo]) if self.form_id.upper() == "BD_DEPARTMENT" else {}
        forbid = []
        for index, number in todo:
            if staffed.get(number):
                params = {"count": staffed[number], "number": number}
                outcomes[index] = Outcome(False, number=number, code="department_has_employees", params=params,
                                          message=reasons.in_english("department_has_employees", params))
            else:
                forbid.append((index, number))
        results = self.client.forbid(self.form_id, [number for _index, number in forbid]) if forbid else []
        for (index, number), result in zip(forbid, results):
            gone = any("不存在" in (error.get("message") or "") for error in result.errors or [])
            message = "；".join(error.get("message") or "" for error in result.errors or [])
            outcomes[index] = Outcome(result.ok or gone, str(result.id or ""), number, message=message,
                                      code="" if result.ok or gone else "target_refused", params={"message": message})
        return outcomes

    def staffed(self, numbers):
        """{department number: enabled employees in it} (one query per chunk)."""
        counts = {}
        for start in range(0, len(numbers), QUERY_CHUNK):
            chunk = numbers[start:start + QUERY_CHUNK]
            wanted = f"FPostDept.FNumber in ({','.join(quote(n) for n in chunk)}) and FForbidStatus = 'A'"
            for (number,) in self.client.execute_bill_query("BD_Empinfo", ["FPostDept.FNumber"], wanted, "", 0, 10000):
                counts[str(number)] = counts.get(str(number), 0) + 1
        return counts


def _query_key(name, is_reference):
    field = name.split(".", 1)[1] if "." in name else name
    return f"{field}.FNumber" if is_reference else field


def _truthy(value):
    return str(value).strip().lower() in ("true", "1")


def _is_dependency(field):
    return str(field or "").upper() in ("FPARENTID", "FPOSTDEPT", "FDEPTID", "FDEPARTMENT")


def _written(written):
    """(fields a person chose to keep as Kingdee has them, {field: value the portal wrote last})."""
    if not isinstance(written, dict):
        return set(), {}
    if "target" in written or "kept" in written:
        return set(written.get("kept") or []), {k: scalar(v) for k, v in (written.get("target") or {}).items()
                                                if not k.startswith("_")}
    return set(), {k: v for k, v in flatten(written.get("Model") or written).items()}
