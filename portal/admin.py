from django.contrib import admin

from portal.admin_mixins import LogAdminMixin
from portal.models import PortalLogin, SensitiveField


@admin.register(SensitiveField)
class SensitiveFieldAdmin(admin.ModelAdmin):
    list_display = ("name", "note")
    search_fields = ("name", "note")


@admin.register(PortalLogin)
class PortalLoginAdmin(LogAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "username", "outcome", "ip")
    list_filter = ("outcome", "created_at")
    search_fields = ("username", "ip")
    date_hierarchy = "created_at"
    show_full_result_count = False
