"""Admin for runs and records: read-only logs with the actions that matter (retry, mark handled)."""


from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.template.defaultfilters import linebreaksbr
from django.utils.translation import gettext, gettext_lazy as _, ngettext

from integrations import engine, reasons, review, tasks
from integrations.admin.forms import HandleForm
from integrations.admin.ops import RunPagesMixin, live_progress
from integrations.models import SyncRecord, SyncRun
from portal import text as text_helpers
from portal.admin_mixins import LogAdminMixin
from portal.models import SensitiveField


class ReadOnlyAdmin(LogAdminMixin, admin.ModelAdmin):
    class Media:
        css = {"all": ["integrations/admin.css"]}


def pretty_json(value):
    text = text_helpers.pretty_json(value)
    return format_html('<pre class="sync-json">{}</pre>', text) if text else "—"


def shown(record):
    """The record's data as this reader may see it (set by MaskedRecordMixin; as stored elsewhere)."""
    return getattr(record, "shown", None) or review.shown_data(record)


@admin.register(SyncRun)
class SyncRunAdmin(RunPagesMixin, ReadOnlyAdmin):
    # Which run, why it ran, when and how long, what it did, how it ended: fits 1366 px beside the filters.
    list_display = ("run", "trigger", "started", "duration", "counts", "progress")
    list_display_links = None
    list_filter = ("status", "trigger", "scheme", "started_at")
    list_select_related = ("scheme",)
    date_hierarchy = "started_at"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("scheme", "trigger", "data_centre", "status", "requested_by", "worker", "records_link")}),
        (_("Window"), {"fields": ("window_start", "window_end")}),
        (_("Time"), {"fields": ("started_at", "finished_at", "duration", "lease_expires_at")}),
        (_("Counts"), {"fields": ("progress", "read_count", "succeeded_count", "skipped_count", "failed_count",
                                  "waiting_count", "adopted_count")}),
        (_("Problems"), {"fields": ("run_error", "stats_json")}),
    )
    readonly_fields = ("records_link", "duration", "progress", "run_error", "stats_json")

    @admin.display(description=_("error"))
    def run_error(self, run):
        """Why it stopped, in the reader's language (older runs: the text they stored)."""
        text = reasons.describe_run(run)
        return format_html('<div class="sync-run-error">{}</div>', linebreaksbr(text)) if text else "—"

    @admin.display(description=_("run"), ordering="pk")
    def run(self, run):
        url = reverse("admin:integrations_syncrun_change", args=[run.pk])
        where = f"{run.scheme.name} · {run.get_data_centre_display()}" if run.data_centre else run.scheme.name
        return format_html('<a href="{}">#{}</a><div class="list-quiet">{}</div>', url, run.pk, where)

    @admin.display(description=_("started"), ordering="started_at")
    def started(self, run):
        return local_time(run.started_at)

    @admin.display(description=_("records"))
    def counts(self, run):
        """Read, then only the outcomes that happened: "读取 12 · 入账 10 · 失败 2"."""
        parts = [("read", _("read"), run.read_count), ("booked", _("booked"), run.succeeded_count),
                 ("skipped", _("skipped"), run.skipped_count), ("failed", _("failed"), run.failed_count),
                 ("waiting", _("waiting"), run.waiting_count), ("adopted", _("adopted"), run.adopted_count)]
        return format_html_join(" · ", '<span class="run-count run-count-{}">{} {}</span>',
                                ((key, label, count) for key, label, count in parts if count or key == "read"))

    @admin.display(description=_("duration"))
    def duration(self, run):
        if not run.finished_at:
            return "…"
        seconds = (run.finished_at - run.started_at).total_seconds()
        if seconds < 120:
            return gettext("%(seconds).1f s") % {"seconds": seconds}
        return gettext("%(minutes).1f min") % {"minutes": seconds / 60}

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


def reason_cell(full, short):
    """The reason in one short line; the whole text one click away (no script, no page change)."""
    if not full or full == short:
        return short or "—"
    return format_html('<details class="list-reason"><summary>{}</summary><div>{}</div></details>', short, full)


def local_time(moment, shape="%m-%d %H:%M"):
    return timezone.localtime(moment).strftime(shape) if moment else "—"


def attempts_text(record):
    if not record.attempts:
        return ""
    return ngettext("%(count)d attempt", "%(count)d attempts", record.attempts) % {"count": record.attempts}


STATUS_LABELS = dict(SyncRecord.Status.choices)


def status_cell(record, detail=""):
    # The label from a dict built once: get_status_display() rebuilds the field's choices on every call.
    return format_html('<span class="record-status record-{}">{}</span>{}', record.status,
                       STATUS_LABELS.get(record.status, record.status),
                       format_html('<div class="list-quiet">{}</div>', detail) if detail else "")


class MaskedRecordMixin:
    """Record pages, and the reasons in the lists, show sensitive fields (bank accounts…) masked to whoever may
    not see them in full."""

    def get_object(self, request, object_id, from_field=None):
        record = super().get_object(request, object_id, from_field)
        if record is not None:
            record.masker = SensitiveField.masker_for(request.user)
            record.shown = review.shown_data(record, record.masker)
        return record

    def get_changelist_instance(self, request):
        """A reason may quote a sensitive value (Kingdee's message naming an account): each listed record gets
        a masker of its own that learnt the values from its data, read for the page in one query (the list
        itself defers the data)."""
        changelist = super().get_changelist_instance(request)
        masker = SensitiveField.masker_for(request.user)
        if masker is not None:
            records = changelist.result_list
            data = {pk: dict(zip(review.DATA_FIELDS, values)) for pk, *values in SyncRecord.objects.filter(
                pk__in=[record.pk for record in records]).values_list("pk", *review.DATA_FIELDS)}
            for record in records:
                record.masker = review.masker_for_data(masker, data.get(record.pk, {}))
        return changelist


def masked_reason(record):
    """The record's reason for the list, masked when its reader may not see sensitive values."""
    text = review.reason_text(record)
    masker = getattr(record, "masker", None)
    return masker.text(text) if masker is not None else text


@admin.register(SyncRecord)
class SyncRecordAdmin(MaskedRecordMixin, ReadOnlyAdmin):
    # Who, what, how much, which bill, why, when, state: fits 1366 px beside the filters.
    list_display = ("record", "originator_display", "amount", "target_number", "reason", "when", "state")
    list_display_links = None
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
        (_("Reason"), {"fields": ("error_text", "error_kind", "attempts", "last_attempt_at", "run")}),
        (_("Handled"), {"fields": ("handled_by", "handled_at", "note")}),
        (_("Data"), {"fields": ("source_data_json", "payload_json", "response_json")}),
    )
    readonly_fields = ("error_text", "source_data_json", "payload_json", "response_json")

    def action_checkbox(self, record):
        """Django's checkbox column, written out instead of rendered through the form widget's template (a fifth
        of the review list's rendering time at 50 rows): the same markup."""
        label = format_html(gettext("Select this object for an action - {}"), str(record))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, str(record.pk), label)

    def get_queryset(self, request):
        queryset = review.with_originator_names(super().get_queryset(request))
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("source_data", "payload", "response")
        return queryset

    @admin.display(description=_("record"), ordering="title")
    def record(self, record):
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[record.pk])
        return format_html('<a href="{}">{}</a><div class="list-quiet">{} · {}</div>', url,
                           record.title or record.source_key, record.source_number or record.source_key,
                           record.scheme.name)

    @admin.display(description=_("originator"), ordering="originator")
    def originator_display(self, record):
        return review.originator_label(record)

    @admin.display(description=_("reason"))
    def reason(self, record):
        text = masked_reason(record)
        return reason_cell(text, review.short_reason(text, 48))

    @admin.display(description=_("updated"), ordering="updated_at")
    def when(self, record):
        return local_time(record.updated_at)

    @admin.display(description=_("status"), ordering="status")
    def state(self, record):
        return status_cell(record, record.get_booked_via_display() if record.booked_via else attempts_text(record))

    @admin.display(description=_("source data"))
    def source_data_json(self, record):
        return pretty_json(shown(record)["source_data"])

    @admin.display(description=_("payload sent"))
    def payload_json(self, record):
        return pretty_json(shown(record)["payload"])

    @admin.display(description=_("response"))
    def response_json(self, record):
        return pretty_json(shown(record)["response"])

    @admin.display(description=_("reason"))
    def error_text(self, record):
        text, masker = review.reason_text(record), getattr(record, "masker", None)
        return masker.text(text) if masker else text

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
