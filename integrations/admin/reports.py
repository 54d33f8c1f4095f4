"""Admin for reports and stock alerts: edit, preview against live data, run now, make from a template;
their runs as a read-only log with what was sent and a retry of failed sends."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy as _, ngettext

from integrations.models import Connection, Report, ReportRun
from integrations.reports import market, runner, tasks, views
from portal.admin_mixins import LogAdminMixin


CHANNELS = {"robot": _("group robot"), "work_notice": _("work notice")}


class PreviewForm(forms.Form):
    title = forms.CharField(label=_("title template"), max_length=200)
    template = forms.CharField(label=_("text template"), widget=forms.Textarea(attrs={"rows": 14, "cols": 90}))


class FromTemplateForm(forms.Form):
    template = forms.ChoiceField(label=_("template"))
    name = forms.CharField(label=_("name"), max_length=100, required=False)
    kingdee = forms.ModelChoiceField(Connection.objects.filter(kind="kingdee"), label=_("Kingdee connection"))
    robots = forms.ModelMultipleChoiceField(Connection.objects.filter(kind="dingtalk_robot"), required=False,
                                            label=_("group robots"))
    notice_connection = forms.ModelChoiceField(Connection.objects.filter(kind="dingtalk"), required=False,
                                               label=_("DingTalk app for work notices"))
    notice_userids = forms.CharField(label=_("work notice recipients (userids)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [(slug, t["name"]) for slug, t in market.available().items()]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "cron", "last_run")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    filter_horizontal = ("robots",)
    actions = ["run_now"]
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled", "cron", "kingdee")}),
        (_("What to read"), {"fields": ("queries", "options")}),
        (_("Message"), {"fields": ("msgtype", "title", "template", "button_title", "button_url")}),
        (_("Recipients"), {"fields": ("robots", "notice_connection", "notice_userids")}),
    )
    change_form_template = "admin/integrations/report/change_form.html"
    change_list_template = "admin/integrations/report/change_list.html"

    @admin.display(description=_("last run"))
    def last_run(self, report):
        run = report.runs.first()
        return f"{run.get_status_display()} · {run.started_at:%m-%d %H:%M}" if run else "—"

    def has_run_permission(self, request):
        return request.user.has_perm("integrations.run_report")

    @admin.action(description=_("Run now"), permissions=["run"])
    def run_now(self, request, queryset):
        for report in queryset:
            tasks.enqueue_report(report)
            self.log_change(request, report, gettext("Run now requested."))
        self.message_user(request, ngettext("%(count)d report will run shortly in the worker.",
                                            "%(count)d reports will run shortly in the worker.", queryset.count())
                          % {"count": queryset.count()}, messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/preview/", view(self.preview_view), name="integrations_report_preview"),
            path("from-template/", view(self.from_template_view), name="integrations_report_from_template"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """The message the report would send now, from live Kingdee data and the (edited) template; sends nothing."""
        report = get_object_or_404(Report, pk=unquote(object_id))
        if not self.has_run_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.POST or None, initial={"title": report.title, "template": report.template})
        if form.is_bound and form.is_valid():
            report.title, report.template = form.cleaned_data["title"], form.cleaned_data["template"]
        message, tables, error = runner.preview(report)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": report, "form": form,
                   "message": message, "tables": views.displayed(tables, rows=20), "error": error,
                   "title": gettext("Preview: %(name)s") % {"name": report.name}}
        return TemplateResponse(request, "admin/integrations/report/preview.html", context)

    def from_template_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = FromTemplateForm(request.POST or None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = market.create_report(data["template"], kingdee=data["kingdee"], robots=data["robots"],
                                              notice_connection=data["notice_connection"],
                                              notice_userids=data["notice_userids"], name=data["name"] or None)
            except forms.ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, report, gettext("Made from template %(slug)s.") % {"slug": data["template"]})
                return HttpResponseRedirect(reverse("admin:integrations_report_change", args=[report.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "templates": market.available(), "title": _("New report from a template")}
        return TemplateResponse(request, "admin/integrations/report/from_template.html", context)


@admin.register(ReportRun)
class ReportRunAdmin(LogAdminMixin, admin.ModelAdmin):
    list_display = ("id", "report", "trigger", "status", "started_at", "sent_count", "failed_count")
    list_filter = ("status", "trigger", "report")
    list_select_related = ("report",)
    date_hierarchy = "started_at"
    show_full_result_count = False
    actions = ["retry_failed"]
    fields = ("report", "trigger", "status", "started_at", "finished_at", "error", "sent_messages", "table_link")
    readonly_fields = fields

    @admin.display(description=_("sent"))
    def sent_count(self, run):
        return run.sent

    @admin.display(description=_("failed"))
    def failed_count(self, run):
        return run.failed

    @admin.display(description=_("messages"))
    def sent_messages(self, run):
        rows = ((_("sent") if entry.get("ok") else _("failed"), CHANNELS.get(entry.get("channel"), ""),
                 _recipients(entry), entry.get("message", {}).get("title", ""),
                 entry.get("message", {}).get("text", ""),
                 format_html('<p class="errornote">{}</p>', entry["error"]) if entry.get("error") else "")
                for entry in run.messages)
        return format_html('<table class="report-messages">{}</table>', format_html_join(
            "", '<tr><td>{}</td><td>{}</td><td>{}</td><td><strong>{}</strong>'
                '<pre style="white-space:pre-wrap">{}</pre>{}</td></tr>', rows)) if run.messages else "—"

    @admin.display(description=_("full table"))
    def table_link(self, run):
        return format_html('<a href="{}" target="_blank">{}</a>', runner.table_url(run), _("open")) if run.tables \
            else "—"

    def has_run_permission(self, request):
        return request.user.has_perm("integrations.run_report")

    @admin.action(description=_("Send the failed messages again"), permissions=["run"])
    def retry_failed(self, request, queryset):
        runs = [run for run in queryset if run.failed]
        for run in runs:
            tasks.enqueue_retry(run)
            self.log_change(request, run, gettext("Retry of failed messages requested."))
        self.message_user(request, ngettext("%(count)d run will send its failed messages again.",
                                            "%(count)d runs will send their failed messages again.", len(runs))
                          % {"count": len(runs)}, messages.SUCCESS)


def _recipients(entry):
    to = entry.get("to")
    return ", ".join(to) if isinstance(to, list) else str(to or "")
