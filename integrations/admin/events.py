"""Admin for DingTalk events: a read-only log of every delivery and what became of it."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from integrations import events
from integrations.admin.runs import ReadOnlyAdmin, pretty_json
from integrations.models import DingTalkEvent, SyncRecord
from portal.text import shorten


@admin.register(DingTalkEvent)
class DingTalkEventAdmin(ReadOnlyAdmin):
    change_list_template = "admin/integrations/dingtalkevent/change_list.html"
    list_display = ("received_at", "connection", "channel", "event_type", "change", "instance_id", "outcome",
                    "short_reason", "record_link", "run_link")
    list_filter = ("outcome", "channel", "event_type", "connection", "received_at")
    search_fields = ("=instance_id", "=event_id")
    list_select_related = ("connection", "record", "run")
    date_hierarchy = "received_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("connection", "channel", "event_id", "event_type", "change", "instance_id",
                           "process_code", "received_at", "remote_addr")}),
        (_("Outcome"), {"fields": ("outcome", "reason", "processed_at", "scheme", "record_link", "run_link",
                                   "duplicate_of")}),
        (_("Data"), {"fields": ("body_json", "signature")}),
    )
    readonly_fields = ("record_link", "run_link", "body_json")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("body")
        return queryset

    def changelist_view(self, request, extra_context=None):
        counts = events.booked_by_channel()
        booked = [(label, counts.get(value, 0)) for value, label in SyncRecord.Via.choices if value]
        return super().changelist_view(request, {**(extra_context or {}), "booked_by": booked})

    @admin.display(description=_("reason"))
    def short_reason(self, event):
        return shorten(event.reason, 60)

    @admin.display(description=_("sync record"))
    def record_link(self, event):
        if event.record_id is None:
            return "—"
        url = reverse("admin:integrations_syncrecord_change", args=[event.record_id])
        return format_html('<a href="{}">{}</a>', url, event.record.get_status_display())

    @admin.display(description=_("run"))
    def run_link(self, event):
        if event.run_id is None:
            return "—"
        return format_html('<a href="{}">#{}</a>', reverse("admin:integrations_syncrun_change", args=[event.run_id]),
                           event.run_id)

    @admin.display(description=_("event body"))
    def body_json(self, event):
        return pretty_json(event.body)
