from django import forms
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin
from import_export.forms import ExportForm

from integrations.forms import SecretFormMixin, clear_checkbox
from portal.admin_mixins import LogAdminMixin
from sso.admin_automatch import AutoMatchAdminMixin
from sso.admin_import import IdentityImportAdminMixin
from sso.models import IdentityImport, IdentityMap, KingdeeSSOSettings, LoginEvent
from sso.resources import IdentityMapResource, SafeCSV, SafeXLSX


@admin.register(IdentityMap)
class IdentityMapAdmin(AutoMatchAdminMixin, IdentityImportAdminMixin, ExportMixin, admin.ModelAdmin):
    resource_classes = [IdentityMapResource]
    formats = [SafeXLSX, SafeCSV]
    export_form_class = ExportForm
    to_encoding = "utf-8-sig"  # so that Excel on a Chinese Windows reads the CSV as UTF-8
    import_export_change_list_template = "admin/sso/identitymap/change_list.html"
    # Who first: the person's name, then their DingTalk id and what they are in Kingdee.
    list_display = ("name", "dingtalk_userid", "mobile", "kingdee_username", "kingdee_staff_number", "active",
                    "dingtalk")
    list_display_links = ("name", "dingtalk_userid")
    list_filter = ("dingtalk", "active")
    list_select_related = ("dingtalk",)
    search_fields = ("dingtalk_userid", "dingtalk_unionid", "name", "mobile", "kingdee_username", "kingdee_staff_number")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = [
        (_("DingTalk"), {"fields": ("dingtalk", "dingtalk_userid", "dingtalk_unionid", "name", "mobile")}),
        (_("Kingdee"), {"fields": ("kingdee_username", "kingdee_staff_number")}),
        (None, {"fields": ("active", ("created_at", "updated_at"))}),
    ]
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)


class KingdeeSSOSettingsForm(SecretFormMixin, forms.ModelForm):
    secret_fields = ("app_secret",)
    clear_app_secret = clear_checkbox()

    class Meta:
        model = KingdeeSSOSettings
        fields = "__all__"
        widgets = {"allowed_forms": forms.Textarea(attrs={"rows": 3, "cols": 40})}


@admin.register(KingdeeSSOSettings)
class KingdeeSSOSettingsAdmin(admin.ModelAdmin):
    form = KingdeeSSOSettingsForm
    list_display = ("kingdee", "dingtalk", "enabled", "algorithm", "link_mode", "workbench_url")
    list_filter = ("enabled",)
    list_select_related = ("kingdee", "dingtalk")
    fieldsets = [
        (None, {"fields": ("kingdee", "dingtalk", "enabled")}),
        (
            _("Third-party login (第三方系统登录授权)"),
            {"fields": ("app_id", ("app_secret", "clear_app_secret"), "dbid", "lcid", "algorithm", "link_mode")},
        ),
        (_("Deep links"), {"fields": ("allowed_forms",)}),
        (_("DingTalk workbench"), {"fields": ("workbench_url",)}),
    ]
    readonly_fields = ("workbench_url",)

    @admin.display(description=_("home page URL for the DingTalk app"))
    def workbench_url(self, sso):
        if not sso.pk:
            return "-"
        url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("sso:dingtalk")
        return format_html("<code>{}?corpId=$CORPID$</code>", url)


@admin.register(LoginEvent)
class LoginEventAdmin(LogAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "reference", "outcome", "reason", "flow", "name", "dingtalk_userid",
                    "kingdee_username", "ip")
    list_filter = ("outcome", "reason", "flow", "created_at")
    search_fields = ("reference", "dingtalk_userid", "name", "kingdee_username", "ip")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(IdentityImport)
class IdentityImportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "file_name", "uploaded_by", "status", "total_rows", "new_rows", "changed_rows",
                    "bad_count", "status_page")
    list_filter = ("status",)
    list_select_related = ("uploaded_by",)
    exclude = ("content",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    @admin.display(description=_("details"))
    def status_page(self, job):
        return format_html('<a href="{}">{}</a>', reverse("admin:sso_identitymap_import_status", args=[job.pk]),
                           _("open"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
