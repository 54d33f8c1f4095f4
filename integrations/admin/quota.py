from django.contrib import admin

from integrations.models import MonthlyQuota


@admin.register(MonthlyQuota)
class MonthlyQuotaAdmin(admin.ModelAdmin):
    list_display = ["connection", "calls_per_month", "alert_percent", "alerted_month"]
    list_select_related = ["connection"]
    readonly_fields = ["alerted_month"]
