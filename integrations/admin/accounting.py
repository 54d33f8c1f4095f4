"""Accounting on finance's pages: claims waiting for a closed period (review list, dashboard) and the daily
reconciliation page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy as _

from integrations import periods, reconciliation
from integrations.models import Scheme, SyncRecord

DAYS = 7


def period_waits(records=None):
    """[{scheme, scheme_id, period, count, amount}] of records waiting for a closed accounting period."""
    records = SyncRecord.objects.all() if records is None else records
    rows = []
    for scheme in Scheme.objects.filter(pk__in=records.filter(status=periods.STATUS).values("scheme_id")):
        for row in periods.waiting_by_period(records.filter(scheme=scheme)):
            rows.append({"scheme": scheme.name, "scheme_id": scheme.pk, **row})
    return rows


def reconciliation_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    schemes = list(Scheme.objects.filter(target_kind__in=("kingdee.save", "kingdee.voucher")).order_by("name"))
    chosen = request.GET.get("scheme") or request.POST.get("scheme") or ""
    scheme = next((s for s in schemes if str(s.pk) == chosen), schemes[0] if schemes else None)
    try:
        days = max(1, min(92, int(request.GET.get("days") or request.POST.get("days") or DAYS)))
    except ValueError:
        days = DAYS
    result, message, failed = [], "", False
    if scheme is not None:
        try:
            result = reconciliation.daily(scheme, days=days)
        except reconciliation.Unavailable as error:
            message, failed = gettext("Kingdee could not be asked: %(message)s") % {"message": error.message}, True
    if request.method == "POST" and scheme is not None and result:
        if not model_admin.has_change_permission(request):
            raise PermissionDenied
        try:
            reconciliation.push(scheme, result)
            messages.success(request, gettext("The reconciliation was sent to the group robot."))
        except reconciliation.Unavailable as error:
            messages.error(request, gettext("Sending failed: %(message)s") % {"message": error.message})
        return redirect(f"{reverse('admin:integrations_reviewrecord_reconciliation')}?scheme={scheme.pk}&days={days}")
    shown = [day for day in result if day.approved_count or day.booked_count or day.claims or day.difference]
    totals = {"approved": sum((day.approved for day in result), reconciliation.ZERO),
              "booked": sum((day.booked for day in result), reconciliation.ZERO),
              "approved_count": sum(day.approved_count for day in result),
              "booked_count": sum(day.booked_count for day in result),
              "claims": sum(len(day.claims) for day in result)}
    totals["difference"] = totals["approved"] - totals["booked"]
    context = {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts,
        "title": _("Daily reconciliation"), "schemes": schemes, "scheme": scheme, "days": days, "result": shown, "totals": totals,
        "quiet_days": len(result) - len(shown), "reconciled": scheme is not None and not failed,
        "message": message, "failed": failed, "robots": scheme is not None and scheme.alert_connection_id,
    }
    return TemplateResponse(request, "admin/integrations/accounting/reconciliation.html", context)
