"""The identity-map import pages: upload → check in the worker → preview → confirm → apply in the worker.

The preview shows counts, the bad rows and the first 500 rows that change (field by field), and no web
request reads or writes more than one small row of the job.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import FileExtensionValidator
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from integrations.models import Connection
from sso import identity_file, identity_import, spreadsheet, tasks
from sso.models import IdentityImport, only_dingtalk_organisation

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
Status = IdentityImport.Status


class IdentityFileForm(forms.Form):
    dingtalk = forms.ModelChoiceField(
        Connection.objects.filter(kind=Connection.Kind.DINGTALK),
        label=_("DingTalk organisation"),
        required=False,
        help_text=_("User ids belong to one DingTalk organisation: the rows are imported into its map."),
    )
    file = forms.FileField(
        label=_("file"),
        validators=[FileExtensionValidator(["xlsx", "csv"])],
        help_text=_("An .xlsx or .csv file whose first row holds the column headers."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dingtalk"].initial = only_dingtalk_organisation()

    def clean_dingtalk(self):
        organisation = self.cleaned_data.get("dingtalk") or only_dingtalk_organisation()
        if organisation is None:
            raise forms.ValidationError(_("Choose the DingTalk organisation (add its DingTalk app connection first)."))
        return organisation

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class IdentityImportAdminMixin:
    """Adds `import/` and `import/<id>/` to the identity map's admin."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="sso_identitymap_import"),
            path("import/<int:pk>/", view(self.import_status_view), name="sso_identitymap_import_status"),
        ] + super().get_urls()

    def has_import_permission(self, request):
        return request.user.has_perms(["sso.add_identitymap", "sso.change_identitymap"])

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        identity_import.recover_stalled()
        form = IdentityFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = IdentityImport.objects.create(
                file_name=upload.name[-200:], content=upload.read(), uploaded_by=request.user,
                dingtalk=form.cleaned_data["dingtalk"],
            )
            self.log_addition(request, job, [{"added": {"name": str(job._meta.verbose_name), "object": str(job)}}])
            tasks.enqueue_check(job)
            return redirect("admin:sso_identitymap_import_status", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import the identity map"),
            "form": form,
            "columns": identity_file.COLUMNS,
            "max_rows": spreadsheet.MAX_ROWS,
            "max_columns": spreadsheet.MAX_COLUMNS,
            "recent": IdentityImport.objects.defer("content").select_related("uploaded_by")[:10],
        }
        return TemplateResponse(request, "admin/sso/identitymap/import.html", context)

    def import_status_view(self, request, pk):
        if not self.has_import_permission(request):
            raise PermissionDenied
        identity_import.recover_stalled()
        job = get_object_or_404(IdentityImport.objects.defer("content").select_related("dingtalk"), pk=pk)
        if request.method == "POST":
            return self.confirm_import(request, job)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import of %(file)s") % {"file": job.file_name},
            "job": job,
            "bad_rows_hidden": max(0, job.bad_count - len(job.bad_rows)),
            "normalised_hidden": max(0, job.normalised_count - len(job.normalised_rows)),
            "changes_hidden": max(0, job.new_rows + job.changed_rows - len(job.changes)),
        }
        return TemplateResponse(request, "admin/sso/identitymap/import_status.html", context)

    def confirm_import(self, request, job):
        retry = job.status == Status.FAILED and bool(job.total_rows)
        if identity_import.claim(job.pk, Status.FAILED if retry else Status.READY, Status.QUEUED):
            self.log_change(request, job, _("Confirmed the import of %(rows)s rows.") % {"rows": job.total_rows})
            tasks.enqueue_apply(job)
            self.message_user(request, _("The import runs in the background; this page shows its progress."))
        else:
            self.message_user(request, _("This file cannot be imported (again)."), messages.WARNING)
        return redirect(reverse("admin:sso_identitymap_import_status", args=[job.pk]))
