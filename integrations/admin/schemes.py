"""Admin for schemes (集成方案), their mapping rows and value maps: IT's side of the portal."""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, ngettext

from integrations import engine, market, tasks
from integrations.admin.forms import (
    BackfillForm, FromTemplateForm, MappingForm, MappingFormSet, PreviewForm, SchemeForm,
)
from integrations.admin.versions import SchemeVersionsMixin
from integrations.admin.wizard import SchemeWizardMixin
from integrations.backfill import estimate as count_backfill
from integrations.customers import views as customers
from integrations.engine import catalog
from integrations.models import DataCentre, FieldMapping, Scheme, SyncRecord, SyncRun, ValueMap, ValueMapEntry

class FieldMappingInline(admin.TabularInline):
    model = FieldMapping
    form = MappingForm
    formset = MappingFormSet
    fields = ("position", "target", "source", "transform", "params", "required", "default", "note")
    extra = 0
    classes = ("mapping-rows",)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        for name in ("target", "source"):  # the pickers: datalists drawn by the change form
            formset.form.base_fields[name].widget.attrs.update({"list": f"mapping-{name}-fields", "size": 22})
        for name, size in (("default", 8), ("note", 10)):
            formset.form.base_fields[name].widget.attrs["size"] = size
        formset.form.base_fields["position"].widget.attrs["class"] = "mapping-position"
        return formset


class ValueMapInline(admin.TabularInline):
    model = ValueMap
    fields = ("name", "description", "entry_count")
    readonly_fields = ("entry_count",)
    show_change_link = True
    extra = 0
    classes = ("value-map-rows",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_total=Count("entries"))

    @admin.display(description=_("entries"))
    def entry_count(self, value_map):
        return getattr(value_map, "entry_total", "—")


@admin.register(Scheme)
class SchemeAdmin(SchemeWizardMixin, SchemeVersionsMixin, admin.ModelAdmin):
    form = SchemeForm
    class Media:
        css = {"all": ["integrations/admin.css"]}

    change_form_template = "admin/integrations/scheme/change_form.html"
    change_list_template = "admin/integrations/scheme/change_list.html"
    inlines = [FieldMappingInline, ValueMapInline]
    list_display = ("name", "enabled", "source_kind", "target_kind", "data_centre", "schedule_text", "last_run",
                    "failed_records", "cursor")
    list_filter = ("enabled", "source_kind", "target_kind")
    search_fields = ("name", "description")
    list_select_related = ("source_connection", "target_connection")
    readonly_fields = ("cursor", "template")
    actions = ["run_now", "backfill"]
    fieldsets = (
        (None, {"fields": ("name", "description", "enabled", "template")}),
        (_("Source"), {"fields": ("source_connection", "source_kind", "source_params")}),
        (_("Target"), {"fields": ("target_connection", "target_kind", "target_params", "rehearsal",
                                  ("dedupe_field", "batch_size"))}),
        (_("When it runs"), {"fields": (("schedule_kind", "interval_minutes", "cron"), "event_trigger",
                                        "start_from", "cursor")}),
        (_("Write-back"), {"fields": ("writeback", "writeback_template"), "classes": ("collapse",)}),
        (_("Alerts"), {"fields": ("alert_connection", ("alert_after_failed_runs", "alert_window_minutes"),
                                  ("reconcile_daily", "reconcile_hour"))}),
    )

    def get_queryset(self, request):
        last = SyncRun.objects.filter(scheme=OuterRef("pk")).order_by("-started_at")
        return super().get_queryset(request).annotate(
            last_run_status=Subquery(last.values("status")[:1]),
            last_run_at=Subquery(last.values("started_at")[:1]),
            failed_total=Count("records", filter=Q(records__status=SyncRecord.Status.FAILED)),
        )

    @admin.display(description=_("Kingdee data centre"))
    def data_centre(self, scheme):
        """What runs use now: a scheme in rehearsal whose connection has no test data centre writes to production."""
        return DataCentre(scheme.data_centre).label if scheme.data_centre else "—"

    @admin.display(description=_("schedule"))
    def schedule_text(self, scheme):
        if scheme.schedule_kind == Scheme.ScheduleKind.INTERVAL:
            return gettext("every %(minutes)d min") % {"minutes": scheme.interval_minutes}
        if scheme.schedule_kind == Scheme.ScheduleKind.CRON:
            return scheme.cron
        return scheme.get_schedule_kind_display()

    @admin.display(description=_("last run"))
    def last_run(self, scheme):
        if not getattr(scheme, "last_run_status", None):
            return "—"
        started = timezone.localtime(scheme.last_run_at)
        return f"{SyncRun.Status(scheme.last_run_status).label} · {started:%Y-%m-%d %H:%M}"

    @admin.display(description=_("failed records"), ordering="failed_total")
    def failed_records(self, scheme):
        if not getattr(scheme, "failed_total", 0):
            return 0
        url = reverse("admin:integrations_syncrecord_changelist")
        url += f"?scheme__id__exact={scheme.pk}&status__exact=failed"
        return format_html('<a href="{}">{}</a>', url, scheme.failed_total)

    # ---- actions -----------------------------------------------------------------------

    def has_run_permission(self, request):
        return request.user.has_perm("integrations.run_scheme")

    @admin.action(description=_("Run now"), permissions=["run"])
    def run_now(self, request, queryset):
        schemes = list(queryset)
        for scheme in schemes:
            tasks.enqueue_run(scheme, request.user)
            self.log_change(request, scheme, gettext("Run now requested."))
        self.message_user(request, ngettext("%(count)d scheme will run shortly in the worker.",
                                            "%(count)d schemes will run shortly in the worker.", len(schemes))
                          % {"count": len(schemes)}, messages.SUCCESS)

    @admin.action(description=_("Backfill history…"), permissions=["run"])
    def backfill(self, request, queryset):
        """Dates first, then how many records they cover and what reading them costs, then the backfill."""
        form = BackfillForm(request.POST if {"apply", "count"} & set(request.POST) else None)
        valid = form.is_bound and form.is_valid()
        if valid and "apply" in request.POST:
            since, until = form.window()
            schemes = list(queryset)
            for scheme in schemes:
                tasks.enqueue_backfill(scheme, since, until, request.user)
                self.log_change(request, scheme, gettext("Backfill %(since)s – %(until)s requested.") % {
                    "since": form.cleaned_data["since"], "until": form.cleaned_data["until"]})
            self.message_user(request, ngettext(
                "Backfill of %(count)d scheme queued: already booked records are skipped, never duplicated.",
                "Backfill of %(count)d schemes queued: already booked records are skipped, never duplicated.",
                len(schemes)) % {"count": len(schemes)}, messages.SUCCESS)
            runs = reverse("admin:integrations_syncrun_changelist") + "?trigger__exact=backfill"
            return HttpResponseRedirect(runs + (f"&scheme__id__exact={schemes[0].pk}" if len(schemes) == 1 else ""))
        estimates = [count_backfill(scheme, *form.window()) for scheme in queryset] if valid else None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "form": form, "queryset": queryset,
            "action": "backfill", "title": _("Backfill history"), "estimates": estimates,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/integrations/scheme/backfill.html", context)

    # ---- pages -------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/preview/", view(self.preview_view), name="integrations_scheme_preview"),
            path("<path:object_id>/run/", view(self.run_view), name="integrations_scheme_run"),
            path("from-template/", view(self.from_template_view), name="integrations_scheme_from_template"),
            path("new/<str:step>/", view(self.wizard_view), name="integrations_scheme_wizard"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """One real source record through the current mapping, field by field; writes nothing."""
        scheme = get_object_or_404(Scheme.objects.select_related("source_connection", "target_connection"),
                                   pk=unquote(object_id))
        if not self.has_run_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.GET or None, source_kind=scheme.source_kind)
        result = engine.preview(scheme, form.cleaned_data["key"]) if form.is_bound and form.is_valid() else None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "original": scheme, "form": form,
            "result": result, "title": gettext("Mapping preview: %(name)s") % {"name": scheme.name},
            "payload_json": json.dumps(result.payload, ensure_ascii=False, indent=2) if result and result.payload
            else "",
            "source_json": json.dumps(result.data, ensure_ascii=False, indent=2) if result and result.data else "",
        }
        return TemplateResponse(request, "admin/integrations/scheme/preview.html", context)

    def run_view(self, request, object_id):
        scheme = get_object_or_404(Scheme, pk=unquote(object_id))
        if request.method != "POST" or not self.has_run_permission(request):
            raise PermissionDenied
        tasks.enqueue_run(scheme, request.user)
        self.log_change(request, scheme, gettext("Run now requested."))
        self.message_user(request, gettext("“%(name)s” will run shortly in the worker.") % {"name": scheme.name},
                          messages.SUCCESS)
        runs = reverse("admin:integrations_syncrun_changelist")
        return HttpResponseRedirect(f"{runs}?scheme__id__exact={scheme.pk}")

    def from_template_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = FromTemplateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                scheme = market.create_scheme(
                    data["template"], name=data["name"], source_connection=data["source_connection"],
                    target_connection=data["target_connection"], **form.source_overrides())
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, scheme, gettext("Created from the template “%(slug)s”.") % {
                    "slug": data["template"]})
                self.message_user(request, gettext(
                    "Created “%(name)s” with %(rows)d mapping rows. Fill in its value maps, then try the mapping "
                    "preview.") % {"name": scheme.name, "rows": scheme.mappings.count()}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:integrations_scheme_change", args=[scheme.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "title": _("New scheme from a template"), "templates": market.available().values(),
                   "source_kinds": form.source_kinds}
        return TemplateResponse(request, "admin/integrations/scheme/from_template.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_run": self.has_run_permission(request)}
        scheme = self.get_object(request, unquote(object_id))
        if scheme is not None:
            source, target = catalog.of_scheme(scheme)
            extra_context.update(customers.scheme_page_context(scheme))
            extra_context.update({"source_catalog": source, "target_catalog": target,
                                  "value_map_names": scheme.value_maps.values_list("name", flat=True),
                                  "picker_notes": [side.note for side in (source, target) if side.note]})
        return super().change_view(request, object_id, form_url, extra_context)


class ValueMapEntryInline(admin.TabularInline):
    model = ValueMapEntry
    fields = ("source_value", "target_value", "note")
    extra = 1


@admin.register(ValueMap)
class ValueMapAdmin(admin.ModelAdmin):
    list_display = ("name", "scheme", "entry_total", "updated_at")
    list_filter = ("scheme",)
    search_fields = ("name", "entries__source_value", "entries__target_value")
    list_select_related = ("scheme",)
    inlines = [ValueMapEntryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entries_count=Count("entries"))

    @admin.display(description=_("entries"), ordering="entries_count")
    def entry_total(self, value_map):
        return value_map.entries_count
