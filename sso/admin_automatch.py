"""Admin pages that look at both systems: mapping suggestions (reviewed before saving) and coverage."""

from datetime import timedelta

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Max
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.clients.errors import RemoteError
from sso import automatch
from sso.models import IdentityMap, KingdeeSSOSettings, LoginEvent

RECENT_DAYS = 30


class AutoMatchAdminMixin:
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("automatch/", view(self.automatch_view), name="sso_identitymap_automatch"),
            path("coverage/", view(self.coverage_view), name="sso_identitymap_coverage"),
        ] + super().get_urls()

    def _page(self, request, template, title, **context):
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context}
        return TemplateResponse(request, f"admin/sso/identitymap/{template}", context)

    def _people(self, request):
        """(sso settings, people) or (sso, None) with an error message shown."""
        sso = KingdeeSSOSettings.objects.select_related("kingdee", "dingtalk").order_by("pk").first()
        if sso is None:
            self.message_user(request, _("Set up Kingdee SSO settings first: they name both connections."),
                              messages.WARNING)
            return None, None
        try:
            return sso, automatch.fetch_people(sso)
        except RemoteError as exc:
            self.message_user(request, _("Could not read the users: %(error)s") % {"error": exc}, messages.ERROR)
            return sso, None

    def automatch_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        sso, people = self._people(request)
        proposals = []
        if people:
            mapped = set(IdentityMap.objects.of(sso.dingtalk_id).values_list("dingtalk_userid", flat=True))
            proposals = automatch.propose(*people, mapped)
        if request.method == "POST" and people is not None:
            chosen = set(request.POST.getlist("userid"))
            created = self._save_proposals(request, sso, [p for p in proposals if p.userid in chosen])
            self.message_user(request, _("Created %(count)s mappings.") % {"count": created}, messages.SUCCESS)
            return redirect("admin:sso_identitymap_changelist")
        return self._page(request, "automatch.html", _("Suggested mappings"), sso=sso, proposals=proposals)

    def _save_proposals(self, request, sso, proposals):
        created = 0
        with transaction.atomic():
            for p in proposals:
                row, new = IdentityMap.objects.get_or_create(
                    dingtalk_id=sso.dingtalk_id, dingtalk_userid=p.userid,
                    defaults={"name": p.name, "mobile": p.mobile, "kingdee_username": p.kingdee_username,
                              "kingdee_staff_number": p.staff_number},
                )
                if new:
                    created += 1
                    self.log_addition(request, row, _("Suggested by %(rule)s") % {"rule": p.matched_by_label})
        return created

    def coverage_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        sso, people = self._people(request)
        mapped = IdentityMap.objects.of(sso.dingtalk_id) if sso else IdentityMap.objects.none()
        report = automatch.coverage(*people, list(mapped)) if people else None
        refused = recent_refusals(RECENT_DAYS)
        unbooked = unbooked_claims(RECENT_DAYS)
        return self._page(request, "coverage.html", _("Identity map coverage"), sso=sso, report=report,
                          refused=refused, unbooked=unbooked, days=RECENT_DAYS)


def recent_refusals(days):
    """People refused for want of a (working) mapping: who to add to the map first."""
    rows = (
        LoginEvent.objects.filter(
            created_at__gte=timezone.now() - timedelta(days=days),
            outcome=LoginEvent.Outcome.REFUSED,
            reason__in=[LoginEvent.Reason.UNMAPPED, LoginEvent.Reason.DISABLED],
        )
        .exclude(dingtalk_userid="")
        .values("dingtalk_userid", "name", "reason")
        .annotate(attempts=Count("id"), last=Max("created_at"))
        .order_by("-last")[:200]
    )
    return [{**row, "reason": LoginEvent.Reason(row["reason"]).label} for row in rows]


def unbooked_claims(days):
    """Originators of recent claims that failed in mapping and still lack a complete, active mapping."""
    SyncRecord = apps.get_model("integrations", "SyncRecord")
    complete = (IdentityMap.objects.filter(active=True).exclude(kingdee_username="")
                .exclude(kingdee_staff_number="").values("dingtalk_userid"))
    return list(
        SyncRecord.objects.filter(
            status=SyncRecord.Status.FAILED,
            error_kind=SyncRecord.ErrorKind.MAPPING,
            updated_at__gte=timezone.now() - timedelta(days=days),
        )
        .exclude(originator="")
        .exclude(originator__in=complete)
        .values("originator")
        .annotate(claims=Count("id"), last=Max("updated_at"), example=Max("title"))
        .order_by("-last")[:200]
    )
