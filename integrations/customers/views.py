"""Pages of the two-way customers scheme, in the admin's frame: the master-rule decision table (with its
confirmation step and history), the printable 对接方案确认书, and the first matching's approval page."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from integrations import queue
from integrations.customers import is_customer_scheme, proposals, rules
from integrations.models import MasterRule, Scheme

APPROVE_PERMISSION = "integrations.resolve_syncrecord"


def _scheme(request, scheme_id):
    scheme = get_object_or_404(Scheme.objects.select_related("source_connection", "target_connection"), pk=scheme_id)
    if not is_customer_scheme(scheme) or not request.user.has_perm("integrations.view_scheme"):
        raise PermissionDenied
    return scheme


def _context(request, scheme, title, **more):
    return {**admin.site.each_context(request), "opts": Scheme._meta, "original": scheme, "title": title, **more}


def master_rules(request, scheme_id):
    """The decision table; IT changes it in two steps (choose, then confirm), each decision signed."""
    scheme = _scheme(request, scheme_id)
    can_decide = rules.can_decide(request.user)
    table = rules.table(scheme)
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied
        wanted = {row["field"]: request.POST.get(f"master-{row['field']}", row["master"]) for row in table}
        note = request.POST.get("note", "").strip()
        try:
            found = rules.changes(scheme, wanted)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(request.path)
        if not found:
            messages.info(request, gettext("Nothing to sign: every rule is already signed as chosen."))
            return HttpResponseRedirect(request.path)
        if request.POST.get("confirmed") != "yes":
            labels = {row["field"]: row["label"] for row in table}
            masters = dict(MasterRule.Master.choices)
            return TemplateResponse(request, "integrations/customers/confirm_rules.html", _context(
                request, scheme, gettext("Confirm the master rules"), note=note, wanted=wanted.items(),
                changes=[(labels[name], masters.get(before, gettext("not decided")), masters[after])
                         for name, (before, after) in found.items()]))
        made = rules.decide(scheme, wanted, user=request.user, note=note)
        messages.success(request, ngettext("%(count)d rule signed; the scheme has a new version.",
                                           "%(count)d rules signed; the scheme has a new version.",
                                           len(made)) % {"count": len(made)})
        return HttpResponseRedirect(request.path)
    return TemplateResponse(request, "integrations/customers/rules.html", _context(
        request, scheme, gettext("Master rules: %(name)s") % {"name": scheme.name}, rows=table,
        history=rules.history(scheme), can_decide=can_decide, masters=MasterRule.Master.choices,
        on_violation=(scheme.target_params or {}).get("on_violation", "restore")))


def confirmation(request, scheme_id):
    """对接方案确认书: one printable page with the scheme, the signed rule per field and the signature lines."""
    scheme = _scheme(request, scheme_id)
    versions = scheme.versions.order_by("-number").values_list("number", flat=True)
    return TemplateResponse(request, "integrations/customers/confirmation.html", {
        "scheme": scheme, "rows": rules.table(scheme), "version": next(iter(versions), None),
        "on_violation": (scheme.target_params or {}).get("on_violation", "restore"), "printed_at": timezone.now(),
        "operator": (scheme.source_params or {}).get("operator_userid", ""), "title": gettext("Integration scheme "
                                                                                               "confirmation")})


def approvals(request, scheme_id):
    """The first matching's proposals: customers on one side only, created on the other once approved."""
    scheme = _scheme(request, scheme_id)
    can_approve = request.user.has_perm(APPROVE_PERMISSION)
    if request.method == "POST":
        if not can_approve:
            raise PermissionDenied
        ids = None if request.POST.get("all") == "yes" else [int(pk) for pk in request.POST.getlist("record")
                                                              if pk.isdigit()]
        if ids == []:
            messages.warning(request, gettext("Select the customers to approve first."))
            return HttpResponseRedirect(request.path)
        count = proposals.approve(scheme, ids, user=request.user)
        if count:
            queue.enqueue_run(scheme, request.user)
        messages.success(request, ngettext(
            "%(count)d customer approved: it is created on the other side in the next run (queued now).",
            "%(count)d customers approved: they are created on the other side in the next run (queued now).",
            count) % {"count": count})
        return HttpResponseRedirect(request.path)
    return TemplateResponse(request, "integrations/customers/approvals.html", _context(
        request, scheme, gettext("Customers to create: %(name)s") % {"name": scheme.name},
        rows=proposals.rows(scheme), can_approve=can_approve))


def scheme_page_context(scheme):
    """What the scheme's change page shows of a customers scheme: the decision table and the proposals' count."""
    if not is_customer_scheme(scheme):
        return {}
    return {"customer_rules": rules.table(scheme), "customer_proposals": proposals.proposed(scheme).count(),
            "customer_rules_url": reverse("integrations:customer_rules", args=[scheme.pk])}


urls = [
    ("customers/<int:scheme_id>/rules/", admin.site.admin_view(master_rules), "customer_rules"),
    ("customers/<int:scheme_id>/confirmation/", admin.site.admin_view(confirmation), "customer_confirmation"),
    ("customers/<int:scheme_id>/approvals/", admin.site.admin_view(approvals), "customer_approvals"),
]
