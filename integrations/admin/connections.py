from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ExportMixin

from integrations.clients import client_for, deadline
from integrations.clients.errors import RemoteError
from integrations.forms import ConnectionForm
from integrations.models import Connection
from integrations.secrets import lost_key_message

LIMITS = (_("Limits"), {"fields": ("rate_limit", "max_concurrency", "connect_timeout", "read_timeout")})
KIND_FIELDSETS = {
    Connection.Kind.DINGTALK: (
        _("DingTalk app"),
        {
            "fields": (
                ("app_key", "agent_id", "corp_id"),
                ("app_secret", "clear_app_secret"),
                "api_base_url",
                "legacy_approval_api",
                ("callback_token", "clear_callback_token"),
                ("callback_aes_key", "clear_callback_aes_key"),
                "callback_receiver",
                ("yida_app_type", "yida_system_token", "clear_yida_system_token"),
            )
        },
    ),
    Connection.Kind.DINGTALK_ROBOT: (
        _("DingTalk group robot"),
        {"fields": (("robot_token", "clear_robot_token"), ("robot_secret", "clear_robot_secret"))},
    ),
    Connection.Kind.KINGDEE: (
        _("Kingdee Cloud Galaxy"),
        {
            "fields": (
                ("acct_id", "test_acct_id"),
                ("username", "lcid", "org_number"),
                "auth_mode",
                "app_id",
                ("app_secret", "clear_app_secret"),
                ("password", "clear_password"),
            )
        },
    ),
}


class ConnectionResource(resources.ModelResource):
    """An inventory of connections for IT; secrets are reported as set or not, never exported."""

    secrets_set = fields.Field(column_name=_("secrets set"))

    class Meta:
        model = Connection
        fields = ("id", "name", "kind", "enabled", "base_url", "api_base_url", "app_key", "agent_id", "corp_id",
                  "acct_id", "test_acct_id", "username", "app_id", "lcid", "org_number", "auth_mode", "rate_limit",
                  "secrets_set")
        export_order = fields

    def dehydrate_secrets_set(self, connection):
        return ", ".join(name for name in Connection.SECRET_FIELDS if getattr(connection, name))


@admin.register(Connection)
class ConnectionAdmin(ExportMixin, admin.ModelAdmin):
    form = ConnectionForm
    resource_classes = [ConnectionResource]
    list_display = ("name", "kind", "base_url", "enabled", "secrets_readable", "updated_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "app_key", "acct_id", "username")
    actions = ["test_connections"]

    def get_fieldsets(self, request, obj=None):
        kind = obj.kind if obj else self._requested_kind(request)
        general = (None, {"fields": ("name", "kind", "enabled", "base_url")})
        return [general, KIND_FIELDSETS[kind], LIMITS]

    def add_view(self, request, form_url="", extra_context=None):
        if not self._requested_kind(request):
            context = {**self.admin_site.each_context(request), "opts": self.opts, "kinds": Connection.Kind.choices,
                       "title": _("Add connection: choose its kind")}
            return TemplateResponse(request, "admin/integrations/connection/choose_kind.html", context)
        return super().add_view(request, form_url, extra_context)

    def get_changeform_initial_data(self, request):
        return {**super().get_changeform_initial_data(request), "kind": self._requested_kind(request)}

    @staticmethod
    def _requested_kind(request):
        kind = request.POST.get("kind") or request.GET.get("kind")
        return kind if kind in Connection.Kind.values else None

    @admin.action(description=_("Test connection"), permissions=["test"])
    def test_connections(self, request, queryset):
        for connection in queryset:
            ok, text = check_connection(connection)
            self.message_user(request, text, messages.SUCCESS if ok else messages.ERROR)

    def has_test_permission(self, request):
        return request.user.has_perm("integrations.test_connection")

    @admin.display(description=_("secrets readable"), boolean=True)
    def secrets_readable(self, connection):
        return not connection.undecryptable_secrets()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        connection = self.get_object(request, object_id)
        if connection and connection.undecryptable_secrets():
            self.message_user(request, lost_key_message(connection), messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)


def check_connection(connection):
    """(ok, message): calls the remote through the real client and reports its own words."""
    if connection.undecryptable_secrets():
        return False, lost_key_message(connection)
    try:
        with deadline.within():
            detail = client_for(connection).check()
    except RemoteError as error:
        return False, _("“%(name)s” failed: %(message)s") % {"name": connection.name, "message": error.message}
    return True, _("“%(name)s” works: %(detail)s") % {"name": connection.name, "detail": detail}


# Schemes, value maps, runs and records register themselves.

