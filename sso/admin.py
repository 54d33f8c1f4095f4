from django.contrib import admin

from sso.models import IdentityMap


@admin.register(IdentityMap)
class IdentityMapAdmin(admin.ModelAdmin):
    list_display = ("dingtalk_userid", "name", "mobile", "kingdee_username", "kingdee_staff_number", "active")
    list_filter = ("active",)
    search_fields = ("dingtalk_userid", "dingtalk_unionid", "name", "mobile", "kingdee_username", "kingdee_staff_number")
