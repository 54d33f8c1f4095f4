from django.contrib import admin

from mobile.models import InventoryScope, LookupSettings


@admin.register(LookupSettings)
class LookupSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kingdee", "enabled", "cache_seconds", "searches_per_minute", "max_results")


@admin.register(InventoryScope)
class InventoryScopeAdmin(admin.ModelAdmin):
    list_display = ("name", "orgs", "warehouses", "member_count")
    search_fields = ("name", "members__name", "members__dingtalk_userid")
    autocomplete_fields = ("members",)

    @admin.display(description=InventoryScope._meta.get_field("members").verbose_name)
    def member_count(self, scope):
        return scope.members.count()
