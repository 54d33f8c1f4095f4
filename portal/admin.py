from django.contrib import admin

from portal.models import SensitiveField


@admin.register(SensitiveField)
class SensitiveFieldAdmin(admin.ModelAdmin):
    list_display = ("name", "note")
    search_fields = ("name", "note")
