import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from sandbox.admin_mixins import ReadOnlyAdminMixin
from sandbox.kingdee.metadata import FORMS
from sandbox.kingdee.models import (
    BaseData, Bill, DataCentre, KingdeeFaults, KingdeeSession, KingdeeUser, SsoLanding, ThirdPartyApp,
)
from sandbox.kingdee.views import injector

BASE_DATA_FORMS = [form.form_id for form in FORMS.values() if not form.is_bill]


@admin.register(DataCentre)
class DataCentreAdmin(admin.ModelAdmin):
    list_display = ("acct_id", "name", "display_version")


@admin.register(KingdeeUser)
class KingdeeUserAdmin(admin.ModelAdmin):
    list_display = ("user_id", "username", "account", "display_name", "staff_number", "enabled")
    list_filter = ("enabled",)
    search_fields = ("username", "account", "display_name", "staff_number", "phone")
    exclude = ("password",)


@admin.register(ThirdPartyApp)
class ThirdPartyAppAdmin(admin.ModelAdmin):
    list_display = ("name", "app_id", "integration_user", "allow_all_users", "link_mode", "algorithm",
                    "validity_seconds", "enabled")
    list_filter = ("enabled", "link_mode", "algorithm")
    list_select_related = ("integration_user",)
    filter_horizontal = ("allowed_users",)
    fieldsets = (
        (None, {"fields": ("name", "enabled", "app_id", "app_secret", "integration_user")}),
        (_("Who may log in"), {"fields": ("allow_all_users", "allowed_users")}),
        (_("Links and signatures"), {"fields": ("link_mode", "algorithm", "validity_seconds",
                                                "verify_gateway_signature")}),
    )


@admin.register(KingdeeSession)
class KingdeeSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("session_id", "user", "via", "app", "created_at", "last_seen")
    list_filter = ("via",)
    list_select_related = ("user", "app")
    search_fields = ("session_id", "user__username")


class FormRecordAdmin(admin.ModelAdmin):
    list_display = ("number", "form_id", "name", "document_status", "forbidden", "third_bill_no", "modified_at")
    list_filter = ("form_id", "document_status", "forbidden")
    search_fields = ("number", "name", "third_bill_no")
    fields = ("form_id", "fid", "number", "name", "document_status", "forbidden", "third_bill_no", "model_json",
              "created_at", "modified_at")
    readonly_fields = ("form_id", "fid", "number", "name", "third_bill_no", "model_json", "created_at",
                       "modified_at")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("model"))
    def model_json(self, record):
        return format_html("<pre>{}</pre>", json.dumps(record.model, ensure_ascii=False, indent=2))


@admin.register(Bill)
class BillAdmin(FormRecordAdmin):
    def get_queryset(self, request):
        return super().get_queryset(request).exclude(form_id__in=BASE_DATA_FORMS)


@admin.register(BaseData)
class BaseDataAdmin(FormRecordAdmin):
    list_display = ("number", "form_id", "name", "forbidden", "document_status", "modified_at")
    search_fields = ("number", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(form_id__in=BASE_DATA_FORMS)


@admin.register(SsoLanding)
class SsoLandingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "username", "outcome", "reason", "page", "formid", "app_id", "ip")
    list_filter = ("outcome", "page")
    search_fields = ("username", "reason", "app_id")
    date_hierarchy = "at"
    exclude = ("link_key",)
    show_full_result_count = False


@admin.register(KingdeeFaults)
class KingdeeFaultsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "seed", "latency_ms", "session_loss_every", "throttle_rate", "unavailable_rate",
                    "server_error_rate", "timeout_rate", "item_error_rate", "updated_at")
    fieldsets = (
        (None, {"fields": ("seed", "latency_ms", "qps_limit")}),
        (_("Sessions"), {"fields": ("session_loss_every", "session_loss_rate")}),
        (_("Failures"), {"fields": ("throttle_rate", "unavailable_rate", "server_error_rate", "item_error_rate")}),
        (_("Timeouts"), {"fields": ("timeout_rate", "timeout_seconds")}),
    )

    def has_add_permission(self, request):
        return not KingdeeFaults.objects.exists()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        injector.reset(obj)  # a new seed starts a new sequence of faults
