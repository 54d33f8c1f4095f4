"""Finance's review list (待复核记录): failed and skipped records across schemes, why, and what to do."""

import hashlib
import re

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, ngettext
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from integrations import engine, org_events, review, tasks
from integrations.admin.forms import HandleForm
from integrations.admin.resources import ReviewRecordResource
from integrations.admin.runs import (
    SyncRecordAdmin, attempts_text, local_time, masked_reason, reason_cell, status_cell,
)
from integrations.models import ReviewRecord, SyncRecord
from portal.exports import NamedFieldsExportForm
from portal.models import SensitiveField
from portal.text import pretty_json

Status = SyncRecord.Status


class ReviewFilter(admin.SimpleListFilter):
    title = _("review state")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("failed", _("failed")), ("conflict", _("conflicts")),
                ("skipped", _("routine skips (refused or cancelled approvals)")), ("all", _("all of these")),
                ("handled", _("handled by a person")), ("retried", _("booked after a retry")),
                ("period", _("waiting for the accounting period"))]

    def choices(self, changelist):
        choices = list(super().choices(changelist))
        choices[0]["display"] = _("needs action (failures and conflicts)")
        return choices

    def queryset(self, request, queryset):
        return queryset.filter(review.SHOWS.get(self.value(), review.SHOWS[None]))


class ReasonFilter(admin.SimpleListFilter):
    """The most frequent reasons among records to review, as they read (one GROUP BY)."""

    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        groups = review.reason_groups_with_examples(SyncRecord.objects.filter(review.SHOWS["all"]))
        # A reader who may not see sensitive values gets each reason masked with the data of its newest record
        # (the values are the same in every record of the group), and a link that does not quote it.
        masker = SensitiveField.masker_for(request.user)
        texts = review.masked_by_example(masker, [(text, last) for _error, text, _count, last in groups])
        choices = []
        for (error, _text, count, _last), text in zip(groups, texts):
            choices.append((error if masker is None else reason_key(error),
                            f"{review.short_reason(text, 40)} ({count})"))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if REASON_KEY.fullmatch(value):
            groups = review.reason_groups(SyncRecord.objects.filter(review.SHOWS["all"]))
            value = next((error for error, _text, _count in groups if reason_key(error) == value), value)
        return queryset.filter(error=value)


REASON_KEY = re.compile(r"r[0-9a-f]{16}")


def reason_key(error):
    """A reason named in a link without quoting it: a digest of its stored text."""
    return "r" + hashlib.sha256(error.encode()).hexdigest()[:16]


@admin.register(ReviewRecord)
class ReviewRecordAdmin(ExportMixin, SyncRecordAdmin):
    class Media:
        css = {"all": ["integrations/ops.css"]}

    change_form_template = "admin/integrations/reviewrecord/change_form.html"
    change_list_template = "admin/integrations/reviewrecord/change_list.html"
    resource_classes = [ReviewRecordResource]
    export_form_class = NamedFieldsExportForm
    formats = [XLSX, CSV]
    to_encoding = "utf-8-sig"
    # Who, what, how much, why, when, state: six columns that fit 1366 px beside the filters.
    list_display = ("approval", "originator_display", "amount", "reason", "when", "state")
    list_display_links = None
    list_filter = (ReviewFilter, "scheme", "error_kind", ReasonFilter, "updated_at")
    search_fields = ("=source_key", "=source_number", "=target_number", "title", "originator")
    date_hierarchy = None
    ordering = ("-updated_at",)
    list_per_page = 50
    actions = ["retry", "mark_handled", "keep_source", "keep_target"]
    fieldsets = (
        (None, {"fields": ("scheme_name", "status", "title", "originator_display", "amount", "source_number",
                           "source_key", "source_time")}),
        (_("Reason"), {"fields": ("full_reason", "error_kind", "attempts", "last_attempt_at", "run")}),
        (_("Kingdee bill"), {"fields": ("target_number", "booked_via", "booked_at")}),
        (_("Handled"), {"fields": ("handled_by", "handled_at", "note")}),
    )
    readonly_fields = ("scheme_name", "originator_display", "full_reason")

    def get_queryset(self, request):
        return review.with_originator_names(super().get_queryset(request))

    def changelist_view(self, request, extra_context=None):
        from integrations.admin import accounting

        extra = {"period_waits": accounting.period_waits(),
                 "review_url": reverse("admin:integrations_reviewrecord_changelist")}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs),
                "masker_for": lambda: SensitiveField.masker_for(request.user)}

    @admin.display(description=_("approval"), ordering="title")
    def approval(self, record):
        url = reverse("admin:integrations_reviewrecord_change", args=[record.pk])
        return format_html('<a href="{}">{}</a><div class="list-quiet">{} · {}</div>', url,
                           record.title or record.source_key, record.source_number or record.source_key,
                           record.scheme.name)

    @admin.display(description=_("originator"), ordering="originator")
    def originator_display(self, record):
        return review.originator_label(record)

    @admin.display(description=_("scheme"))
    def scheme_name(self, record):
        return record.scheme.name  # as text: finance may not open schemes

    @admin.display(description=_("reason"))
    def reason(self, record):
        text = masked_reason(record)
        return reason_cell(text, review.short_reason(text, 48))

    @admin.display(description=_("last attempt"), ordering="last_attempt_at")
    def when(self, record):
        return local_time(record.last_attempt_at or record.updated_at)

    @admin.display(description=_("status"), ordering="status")
    def state(self, record):
        return status_cell(record, attempts_text(record))

    @admin.display(description=_("reason"))
    def full_reason(self, record):
        text = review.reason_text(record) or "—"
        masker = getattr(record, "masker", None)
        return format_html('<div class="review-reason">{}</div>', masker.text(text) if masker else text)

    # ---- conflicts ------------------------------------------------------------------------------

    def has_resolve_permission(self, request):
        return request.user.has_perm("integrations.resolve_syncrecord")

    @admin.action(description=_("Conflicts: keep DingTalk's values"), permissions=["resolve"])
    def keep_source(self, request, queryset):
        note = gettext("Conflict decided: DingTalk's values kept.")
        return self.resolve(request, queryset, "source", note)

    @admin.action(description=_("Conflicts: keep Kingdee's values"), permissions=["resolve"])
    def keep_target(self, request, queryset):
        return self.resolve(request, queryset, "target", gettext("Conflict decided: Kingdee's values kept."))

    def resolve(self, request, queryset, keep, note):
        records = list(queryset.filter(status=Status.CONFLICT))
        count = engine.resolve_conflicts([record.pk for record in records], keep=keep, user=request.user, note=note)
        for record in records:
            self.log_change(request, record, note)
        if count:
            tasks.enqueue_retry([record.pk for record in records], request.user)
        self.message_user(request, ngettext("%(count)d conflict decided; it is written again in the worker.",
                                            "%(count)d conflicts decided; they are written again in the worker.",
                                            count) % {"count": count}, messages.SUCCESS if count else messages.WARNING)

    # ---- the record page -----------------------------------------------------------------------

    def get_urls(self):
        from integrations.admin import accounting

        view = self.admin_site.admin_view
        return [
            path("reconciliation/", view(lambda request: accounting.reconciliation_view(self, request)),
                 name="integrations_reviewrecord_reconciliation"),
            path("<path:object_id>/retry/", view(self.retry_view), name="integrations_reviewrecord_retry"),
            path("<path:object_id>/handle/", view(self.handle_view), name="integrations_reviewrecord_handle"),
            path("<path:object_id>/keep/<str:side>/", view(self.keep_view), name="integrations_reviewrecord_keep"),
            path("<path:object_id>/clear-kept/", view(self.clear_kept_view),
                 name="integrations_reviewrecord_clear_kept"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        record = self.get_object(request, unquote(object_id))
        extra = {} if record is None else {
            "data_columns": [(_("source data"), pretty_json(record.shown["source_data"])),
                             (_("payload sent"), pretty_json(record.shown["payload"])),
                             (_("response"), pretty_json(record.shown["response"]))],
            "audit": audit_entries(record),
            "can_retry": record.status == Status.FAILED and self.has_retry_permission(request),
            "can_handle": record.status in (Status.FAILED, Status.SKIPPED) and self.has_handle_permission(request),
            "conflicts": [(org_events.field_label(name), values) for name, values in
                          sorted(org_events.conflicts_of(record).items())] if record.status == Status.CONFLICT else [],
            "kept": [org_events.field_label(name) for name in (record.synced_state or {}).get("kept") or []],
            "can_decide": self.has_resolve_permission(request),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def retry_view(self, request, object_id):
        record = get_object_or_404(ReviewRecord, pk=unquote(object_id))
        if request.method != "POST" or not self.has_retry_permission(request):
            raise PermissionDenied
        if record.status != Status.FAILED:
            self.message_user(request, gettext("Only failed records can be retried."), messages.WARNING)
        else:
            tasks.enqueue_retry([record.pk], request.user)
            self.log_change(request, record, gettext("Retry requested."))
            self.message_user(request, gettext("The record will be retried in the worker with the current mapping and "
                                               "value maps; reload this page to see the outcome."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integrations_reviewrecord_change", args=[record.pk]))

    def handle_view(self, request, object_id):
        record = get_object_or_404(ReviewRecord, pk=unquote(object_id))
        if not self.has_handle_permission(request):
            raise PermissionDenied
        form = HandleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            note = form.cleaned_data["note"]
            if engine.mark_handled([record.pk], user=request.user, note=note):
                self.log_change(request, record, gettext("Marked handled: %(note)s") % {"note": note})
                self.message_user(request, gettext("Marked handled."), messages.SUCCESS)
            else:
                self.message_user(request, gettext("This record cannot be marked handled any more (it is %(status)s).")
                                  % {"status": record.get_status_display()}, messages.WARNING)
            return HttpResponseRedirect(reverse("admin:integrations_reviewrecord_change", args=[record.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": record, "form": form,
                   "title": gettext("Mark handled: %(record)s") % {"record": record}}
        return TemplateResponse(request, "admin/integrations/reviewrecord/handle.html", context)


    def keep_view(self, request, object_id, side):
        """A conflict settled by a person: keep DingTalk's values (overwrite Kingdee) or Kingdee's."""
        record = get_object_or_404(ReviewRecord, pk=unquote(object_id))
        if request.method != "POST" or not self.has_resolve_permission(request) or side not in (
                org_events.KEEP_DINGTALK, org_events.KEEP_KINGDEE):
            raise PermissionDenied
        settled = org_events.keep(record.pk, side, request.user)
        if settled is None:
            self.message_user(request, gettext("This record is no longer a conflict."), messages.WARNING)
        else:
            self.log_change(request, record, settled.note)
            self.message_user(request, settled.note, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integrations_reviewrecord_change", args=[record.pk]))

    def clear_kept_view(self, request, object_id):
        record = get_object_or_404(ReviewRecord, pk=unquote(object_id))
        if request.method != "POST" or not self.has_resolve_permission(request):
            raise PermissionDenied
        settled = org_events.clear_kept(record.pk, request.user)
        self.log_change(request, record, settled.note)
        self.message_user(request, settled.note, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integrations_reviewrecord_change", args=[record.pk]))


def audit_entries(record):
    """Who did what to this record, from its pages in either list (retries, marks)."""
    types = ContentType.objects.get_for_models(SyncRecord, ReviewRecord, for_concrete_models=False).values()
    return (LogEntry.objects.filter(content_type__in=list(types), object_id=str(record.pk))
            .select_related("user").order_by("-action_time")[:20])
