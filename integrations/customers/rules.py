"""The master rule per field, as a signed decision.

The table a scheme page shows: per two-way field, who is master (DingTalk, Kingdee, or the newest change),
who decided and when. A decision is a `MasterRule` row that is never changed (the history is the table);
the rules in force are also the scheme's `target_params["master_rules"]`, so a decision makes a scheme version
and travels with an exported scheme. Only a user with `integrations.decide_masterrule` (IT) decides, after a
confirmation step (the view's). Fields nobody signed yet show the template's proposal as "not signed".
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from integrations.engine.twoway import BACK, FIELD_LABELS, UNWRITABLE
from integrations.models import MasterRule, Scheme

PERMISSION = "integrations.decide_masterrule"
MASTERS = dict(MasterRule.Master.choices)


def can_decide(user):
    return bool(user and user.is_active and user.has_perm(PERMISSION))


def two_way_fields(scheme):
    """[(Kingdee field, label, DingTalk key)] of the fields mapped both ways, in row order."""
    rows = list(scheme.mappings.order_by("position", "id").values_list("target", "source", "note"))
    back = {source: target[len(BACK):] for target, source, _note in rows if target.lower().startswith(BACK)}
    return [(target, FIELD_LABELS.get(target, target), back[target]) for target, _source, _note in rows
            if not target.lower().startswith(BACK) and target in back]


def table(scheme):
    """One row per two-way field: {field, label, dingtalk_key, master, master_label, decided_by, decided_at,
    signed, fixed} — `fixed`: DingTalk must be master (its API cannot write that field)."""
    latest = {}
    for rule in MasterRule.objects.filter(scheme=scheme).select_related("decided_by").order_by("decided_at", "id"):
        latest[rule.field] = rule
    in_force = (scheme.target_params or {}).get("master_rules") or {}
    rows = []
    for name, label, key in two_way_fields(scheme):
        rule = latest.get(name)
        master = in_force.get(name) or (rule.master if rule else "")
        signed = rule is not None and rule.master == master
        rows.append({"field": name, "label": label, "dingtalk_key": key, "master": master,
                     "master_label": MASTERS.get(master, gettext("not decided")),
                     "decided_by": _who(rule.decided_by) if signed else "", "decided_at": rule.decided_at if signed
                     else None, "signed": signed, "fixed": key in UNWRITABLE})
    return rows


def history(scheme):
    return list(MasterRule.objects.filter(scheme=scheme).select_related("decided_by").order_by("-decided_at", "-id"))


def _who(user):
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def changes(scheme, wanted):
    """{field: (before, after)} that `wanted` ({field: master}) would change; raises ValidationError."""
    fields = {row["field"]: row for row in table(scheme)}
    found = {}
    for name, master in wanted.items():
        if name not in fields:
            raise ValidationError(gettext("“%(field)s” is not a field synchronised both ways.") % {"field": name})
        if master not in MASTERS:
            raise ValidationError(gettext("Choose DingTalk, Kingdee or newest change wins."))
        if fields[name]["fixed"] and master != MasterRule.Master.DINGTALK:
            raise ValidationError(gettext("%(label)s can only be written in DingTalk: DingTalk stays its master.")
                                  % {"label": fields[name]["label"]})
        if fields[name]["master"] != master or not fields[name]["signed"]:
            found[name] = (fields[name]["master"], master)
    return found


@transaction.atomic
def decide(scheme, wanted, *, user, note=""):
    """Sign `wanted` ({field: master}): a decision row per changed or not yet signed field, the scheme's rules
    updated (a new scheme version). Returns the new MasterRule rows."""
    if not can_decide(user):
        raise PermissionDenied
    scheme = Scheme.objects.select_for_update().get(pk=scheme.pk)
    found = changes(scheme, wanted)
    if not found:
        return []
    labels = {row["field"]: row["label"] for row in table(scheme)}
    made = [MasterRule.objects.create(scheme=scheme, field=name, label=labels.get(name, name), master=after,
                                      previous=before or "", decided_by=user, note=note[:200])
            for name, (before, after) in found.items()]
    scheme.target_params = {**(scheme.target_params or {}), "master_rules": {
        **((scheme.target_params or {}).get("master_rules") or {}), **{name: after for name, (_b, after) in found.items()}}}
    scheme.full_clean()
    scheme.save()
    return made
