"""Scheme pages for versions and files: history, one version and its restore, export, import (dry run first)."""

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy as _

from integrations import scheme_file, versions
from integrations.models import FieldMapping, Scheme, SchemeVersion

MAX_FILE_BYTES = 2 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(label=_("scheme file (.json)"), required=False)
    content = forms.CharField(widget=forms.HiddenInput, required=False)

    def text(self):
        upload = self.cleaned_data.get("file")
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                raise ValidationError(gettext("The file is larger than 2 MB; a scheme file is much smaller."))
            try:
                return upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError(gettext("The file is not UTF-8 text.")) from None
        if self.cleaned_data.get("content"):
            return self.cleaned_data["content"]
        raise ValidationError(gettext("Choose a scheme file exported from a portal."))


class SchemeVersionsMixin:
    """Mixed into the Scheme admin."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="integrations_scheme_import"),
            path("<path:object_id>/versions/", view(self.versions_view), name="integrations_scheme_versions"),
            path("<path:object_id>/versions/<int:number>/", view(self.version_view),
                 name="integrations_scheme_version"),
            path("<path:object_id>/export/", view(self.export_view), name="integrations_scheme_export"),
            *super().get_urls(),
        ]

    def _scheme(self, request, object_id):
        scheme = get_object_or_404(Scheme, pk=unquote(object_id))
        if not self.has_view_permission(request, scheme):
            raise PermissionDenied
        return scheme

    def _context(self, request, scheme, title, **extra):
        return {**self.admin_site.each_context(request), "opts": self.opts, "original": scheme, "title": title,
                **extra}

    def versions_view(self, request, object_id):
        scheme = self._scheme(request, object_id)
        history = list(scheme.versions.select_related("created_by").defer("snapshot"))
        rows = [(version, [versions.describe(change) for change in version.changes]) for version in history]
        context = self._context(request, scheme, gettext("History of %(name)s") % {"name": scheme.name}, rows=rows,
                                can_restore=self.has_change_permission(request, scheme))
        return TemplateResponse(request, "admin/integrations/scheme/versions.html", context)

    def version_view(self, request, object_id, number):
        scheme = self._scheme(request, object_id)
        version = get_object_or_404(SchemeVersion.objects.select_related("created_by"), scheme=scheme, number=number)
        can_restore = self.has_change_permission(request, scheme)
        if request.method == "POST":
            if not can_restore:
                raise PermissionDenied
            try:
                versions.restore(version, request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.log_change(request, scheme, gettext("Restored version %(number)d.") % {"number": number})
                self.message_user(request, gettext("“%(name)s” is now as it was in version %(number)d.") % {
                    "name": scheme.name, "number": number}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:integrations_scheme_versions", args=[scheme.pk]))
        restoring = versions.diff(versions.snapshot(scheme), version.snapshot)
        context = self._context(
            request, scheme, gettext("%(name)s, version %(number)d") % {"name": scheme.name, "number": number},
            version=version, state=version.snapshot, can_restore=can_restore,
            restoring=[versions.describe(change) for change in restoring],
            settings_rows=[(Scheme._meta.get_field(name).verbose_name,
                            versions.shown_field(Scheme, name, version.snapshot["settings"].get(name)),
                            isinstance(version.snapshot["settings"].get(name), (dict, list)))
                           for name in versions.SETTINGS],
            transforms={row["transform"]: versions.shown_field(FieldMapping, "transform", row["transform"])
                        for row in version.snapshot["mappings"]})
        return TemplateResponse(request, "admin/integrations/scheme/version.html", context)

    def export_view(self, request, object_id):
        scheme = self._scheme(request, object_id)
        response = HttpResponse(scheme_file.dumps(scheme), content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(scheme_file.filename(scheme))}"
        return response

    def import_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        plan, errors, text = None, [], ""
        if request.method == "POST" and form.is_valid():
            try:
                text = form.text()
                data = scheme_file.parse(text)
                plan = scheme_file.load(data, user=request.user, dry_run="confirm" not in request.POST)
            except ValidationError as error:
                errors, plan = error.messages, None
            if plan is not None and plan.scheme is not None:
                return self._imported(request, plan)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form, "plan": plan,
                   "errors": errors, "content": text, "title": _("Import a scheme")}
        return TemplateResponse(request, "admin/integrations/scheme/import.html", context)

    def _imported(self, request, plan):
        if plan.existing is None:
            self.log_addition(request, plan.scheme, gettext("Imported from a file."))
        else:
            self.log_change(request, plan.scheme, gettext("Updated from an imported file."))
        self.message_user(request, gettext("“%(name)s” imported: %(rows)d mapping rows, %(maps)d value maps.") % {
            "name": plan.name, "rows": plan.mappings, "maps": plan.value_maps}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:integrations_scheme_change", args=[plan.scheme.pk]))
