"""Admin for runs and records: read-only logs with the actions that matter (retry, mark handled)."""


from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, ngettext

from integrations import engine, reasons, tasks
from integrations.admin.forms import HandleForm
from integrations.admin.ops import RunPagesMixin, live_progress
from integrations.models import SyncRecord, SyncRun
from portal import text as text_helpers
from portal.admin_mixins import LogAdminMixin
from portal.text import shorten


class ReadOnlyAdmin(LogAdminMixin, admin.ModelAdmin):
    class Media:
        css = {"all": ["integrations/admin.css"]}


def pretty_json(value):
    text = text_helpers.pretty_json(value)
    return format_html('<pre class="sync-json">{}</pre>', text) if text else "—"


@admin.register(SyncRun)
class SyncRunAdmin(RunPagesMixin, ReadOnlyAdmin):
    list_display = ("id", "scheme", "trigger", "status", "started_at", "duration", "progress", "read_count",
                    "succeeded_count", "skipped_count", "failed_count", "waiting_count", "adopted_count")
    list_display_links = ("id", "scheme")
    list_filter = ("status", "trigger", "scheme", "started_at")
    list_select_related = ("scheme",)
    date_hierarchy = "started_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("scheme", "trigger", "status", "requested_by", "worker", "records_link")}),
        (_("Window"), {"fields": ("window_start", "window_end")}),
        (_("Time"), {"fields": ("started_at", "finished_at", "duration", "lease_expires_at")}),
        (_("Counts"), {"fields": ("progress", "read_count", "succeeded_count", "skipped_count", "failed_count",
                                  "waiting_count", "adopted_count")}),
        (_("Problems"), {"fields": ("error", "stats_json")}),
    )
    readonly_fields = ("records_link", "duration", "progress", "stats_json")

    @admin.display(description=_("duration"))
    def duration(self, run):
        if not run.finished_at:
            return "…"
        seconds = (run.finished_at - run.started_at).total_seconds()
        return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

    @admin.display(description=_("progress"))
    def progress(self, run):
        return live_progress(run)

    @admin.display(description=_("statistics"))
    def stats_json(self, run):
        return pretty_json(run.stats)

    @admin.display(description=_("records"))
    def records_link(self, run):
        url = reverse("admin:integrations_syncrecord_changelist") + f"?run__id__exact={run.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("Records this run touched"))


@admin.register(SyncRecord)
class SyncRecordAdmin(ReadOnlyAdmin):
    list_display = ("source_key", "title", "scheme", "status", "amount", "target_number", "reason", "attempts",
                    "booked_via", "updated_at")
    list_filter = ("status", "scheme", "error_kind", "booked_via", "updated_at")
    search_fields = ("=source_key", "=target_number", "=source_number", "title")
    list_select_related = ("scheme",)
    date_hierarchy = "updated_at"
    show_full_result_count = False
    actions = ["retry", "mark_handled"]
    fieldsets = (
        (None, {"fields": ("scheme", "source_key", "status", "title", "source_number", "originator", "amount",
                           "source_time")}),
        (_("Target"), {"fields": ("target_number", "target_id", "booked_via", "booked_at", "notified_at")}),
        (_("Reason"), {"fields": ("error", "error_kind", "attempts", "last_attempt_at", "run")}),
        (_("Handled"), {"fields": ("handled_by", "handled_at", "note")}),
        (_("Data"), {"fields": ("source_data_json", "payload_json", "response_json")}),
    )
    readonly_fields = ("source_data_json", "payload_json", "response_json")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("source_data", "payload", "response")
        return queryset

    @admin.display(description=_("reason"))
    def reason(self, record):
        return shorten(reasons.describe(record))

    @admin.display(description=_("source data"))
    def source_data_json(self, record):
        return pretty_json(record.source_data)

    @admin.display(description=_("payload sent"))
    def payload_json(self, record):
        return pretty_json(record.payload)

    @admin.display(description=_("response"))
    def response_json(self, record):
        return pretty_json(record.response)

    def has_retry_permission(self, request):
        return request.user.has_perm("integrations.retry_syncrecord")

    def has_handle_permission(self, request):
        return request.user.has_perm("integrations.handle_syncrecord")

    @admin.action(description=_("Retry"), permissions=["retry"])
    def retry(self, request, queryset):
        ids = list(queryset.filter(status=SyncRecord.Status.FAILED).values_list("id", flat=True))
        if ids:
            tasks.enqueue_retry(ids, request.user)
            for record in queryset.filter(pk__in=ids):
                self.log_change(request, record, gettext("Retry requested."))
        skipped = queryset.count() - len(ids)
        self.message_user(request, ngettext("%(count)d failed record will be retried in the worker.",
                                            "%(count)d failed records will be retried in the worker.", len(ids))
                          % {"count": len(ids)}, messages.SUCCESS if ids else messages.WARNING)
        if skipped:
            self.message_user(request, ngettext("%(count)d selected record is not failed and was left alone.",
                                                "%(count)d selected records are not failed and were left alone.",
                                                skipped) % {"count": skipped}, messages.WARNING)

    @admin.action(description=_("Mark handled…"), permissions=["handle"])
    def mark_handled(self, request, queryset):
        form = HandleForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            records = list(queryset)
            count = engine.mark_handled([record.pk for record in records], user=request.user,
                                        note=form.cleaned_data["note"])
            for record in records:
                self.log_change(request, record,
                                gettext("Marked handled: %(note)s") % {"note": form.cleaned_data["note"]})
            self.message_user(request, ngettext("%(count)d record marked handled.", "%(count)d records marked handled.",
                                                count) % {"count": count}, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "form": form, "queryset": queryset,
            "action": "mark_handled", "title": _("Mark records handled"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/integrations/syncrecord/mark_handled.html", context)
