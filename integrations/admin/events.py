"""Admin for DingTalk events: a read-only log of every delivery and what became of it."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from integrations import events, reasons, review
from integrations.admin.runs import ReadOnlyAdmin, local_time, pretty_json, reason_cell
from integrations.models import DingTalkEvent, SyncRecord
from portal.text import shorten


# DingTalk's event names and instance changes, as a person reads them; anything else is shown as DingTalk sent it.
EVENT_NAMES = {code: pgettext_lazy("DingTalk event", code) for code in (
    "bpms_instance_change", "bpms_task_change", "check_url", "start", "finish", "terminate", "agree", "refuse",
    "redirect", "cancel")}


def event_words(code):
    return "/".join(str(EVENT_NAMES.get(part, part)) for part in code.split("/")) if code else ""


class EventTypeFilter(admin.SimpleListFilter):
    title = _("event type")
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        types = DingTalkEvent.objects.exclude(event_type="").values_list("event_type", flat=True).distinct()
        return [(code, event_words(code)) for code in sorted(types)[:20]]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(DingTalkEvent)
class DingTalkEventAdmin(ReadOnlyAdmin):
    change_list_template = "admin/integrations/dingtalkevent/change_list.html"
    # When, what DingTalk said, about which approval, what became of it and where: fits 1366 px with the filters.
    list_display = ("received", "event", "instance", "outcome_cell", "record_link", "run_link")
    list_display_links = None
    list_filter = ("outcome", "channel", EventTypeFilter, "connection", "received_at")
    search_fields = ("=instance_id", "=event_id")
    list_select_related = ("connection", "record", "run")
    date_hierarchy = "received_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("connection", "channel", "event_id", "event_type", "change", "instance_id",
                           "process_code", "received_at", "remote_addr")}),
        (_("Outcome"), {"fields": ("outcome", "reason_text", "processed_at", "scheme", "record_link", "run_link",
                                   "duplicate_of")}),
        (_("Data"), {"fields": ("body_json", "signature")}),
    )
    readonly_fields = ("reason_text", "record_link", "run_link", "body_json")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("body")
        return queryset

    def changelist_view(self, request, extra_context=None):
        counts = events.booked_by_channel()
        booked = [(label, counts.get(value, 0)) for value, label in SyncRecord.Via.choices if value]
        return super().changelist_view(request, {**(extra_context or {}), "booked_by": booked})

    @admin.display(description=_("received"), ordering="received_at")
    def received(self, event):
        url = reverse("admin:integrations_dingtalkevent_change", args=[event.pk])
        return format_html('<a href="{}">{}</a>', url, local_time(event.received_at, "%m-%d %H:%M:%S"))

    @admin.display(description=_("event"), ordering="event_type")
    def event(self, event):
        return format_html('<span title="{}">{}</span><div class="list-quiet">{}</div>', event.event_type,
                           event_words(event.event_type) or "—",
                           " · ".join(filter(None, [event_words(event.change), event.get_channel_display(),
                                                    str(event.connection)])))

    @admin.display(description=_("approval instance"), ordering="instance_id")
    def instance(self, event):
        return format_html('<span title="{}">{}</span>', event.instance_id, shorten(event.instance_id, 14))

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_cell(self, event):
        text = self.reason_text(event)
        return format_html("{}<div>{}</div>", event.get_outcome_display(), reason_cell(text, shorten(text, 40)))

    @admin.display(description=_("reason"))
    def reason_text(self, event):
        """In the reader's language, the record's originator named (the list reads the record with the event)."""
        record = event.record if event.record_id else None
        names = {record.originator: review.originator_label(record)} if record and record.originator else None
        return reasons.describe_event(event, names)

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
