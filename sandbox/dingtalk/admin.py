import json

from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sandbox.admin_mixins import ReadOnlyAdminMixin
from sandbox.dingtalk import approvals, inbox, org, push
from sandbox.dingtalk.models import (
    App, ApprovalInstance, Comment, CrmCustomer, Department, Employee, ProcessTemplate, PushedEvent, QuotaUsage, Robot,
    RobotMessage, SandboxSettings, StreamGateway, WorkNotice,
)
from sandbox.dingtalk.models import AttendanceCorrection, YidaApp, YidaForm, YidaInstance
from sandbox.dingtalk.views.gate import injector, reset_counters


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(SandboxSettings)


class SandboxSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "qps_limit", "latency_ms", "server_error_rate", "timeout_rate", "monthly_quota",
                    "expire_token_every", "token_ttl", "updated_at"]
    fieldsets = [
        (_("Randomness"), {"fields": ["seed"]}),
        (_("Network"), {"fields": ["latency_ms", "server_error_rate", "timeout_rate", "timeout_seconds"]}),
        (_("Limits"), {"fields": ["qps_limit", "monthly_quota"]}),
        (_("Tokens"), {"fields": ["token_ttl", "expire_token_every", "token_error_style"]}),
        (_("Contact permissions"), {"fields": ["mobile_visible", "email_visible"]}),
        (_("Events"), {"fields": ["event_duplicate_rate", "stream_ack_timeout", "stream_ping_seconds",
                                  "stream_rotate_seconds"]}),
    ]

    def has_add_permission(self, request):
        return not SandboxSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        injector.reset(obj)  # the seeded fault sequence starts again from the new settings
        reset_counters()


@admin.register(QuotaUsage)


class QuotaUsageAdmin(ReadOnlyAdmin):
    list_display = ["month", "calls"]


@admin.register(App)


class AppAdmin(admin.ModelAdmin):
    list_display = ["name", "app_key", "agent_id", "corp_id", "push_mode", "callback_url"]
    actions = ["verify_callback_url"]

    @admin.action(description=_("Check the HTTP push URL (check_url event)"), permissions=["change"])
    def verify_callback_url(self, request, queryset):
        for app in queryset.exclude(callback_url=""):
            outcome = push.verify_url(app, app.callback_url)
            if outcome["ok"]:
                self.message_user(request, _("%(url)s answered success in %(ms)d ms.") % {
                    "url": app.callback_url, "ms": outcome["elapsed_ms"]}, messages.SUCCESS)
            else:
                self.message_user(request, _("%(url)s failed the check: %(error)s") % {
                    "url": app.callback_url, "error": outcome["error"]}, messages.ERROR)


@admin.register(PushedEvent)


class PushedEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "summary", "process_instance_id", "app", "channel", "status",
                    "attempts", "deliveries", "delivered_at"]
    list_filter = ["status", "channel", "event_type"]
    search_fields = ["=event_id", "=process_instance_id"]
    list_select_related = ["app"]
    show_full_result_count = False


@admin.register(StreamGateway)


class StreamGatewayAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "pid", "started_at", "sessions", "pongs"]


@admin.register(Department)


class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["dept_id", "name", "parent_id", "member_count"]
    search_fields = ["name", "dept_id"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, dept):
        return dept.member_total

    def save_model(self, request, obj, form, change):
        """An edit by hand sends the event DingTalk would (org_dept_create / org_dept_modify)."""
        super().save_model(request, obj, form, change)
        org.dept_event(org.DEPT_MODIFY if change else org.DEPT_CREATE, [obj.dept_id])

    def delete_model(self, request, obj):
        dept_id = obj.dept_id
        super().delete_model(request, obj)
        org.dept_event(org.DEPT_REMOVE, [dept_id])

    def delete_queryset(self, request, queryset):
        dept_ids = list(queryset.values_list("dept_id", flat=True))
        super().delete_queryset(request, queryset)
        if dept_ids:
            org.dept_event(org.DEPT_REMOVE, dept_ids)


@admin.register(Employee)


class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["name", "job_number", "userid", "mobile", "title", "active"]
    list_filter = ["active", "departments"]
    search_fields = ["name", "userid", "unionid", "mobile", "job_number"]
    filter_horizontal = ["departments"]

    def save_model(self, request, obj, form, change):
        """An edit by hand sends the event DingTalk would: joining, leaving (untick "in the organisation"),
        coming back, or any other change."""
        was_active = Employee.objects.filter(pk=obj.pk).values_list("active", flat=True).first() if change else None
        obj.left_at = None if obj.active else (obj.left_at or timezone.now())
        super().save_model(request, obj, form, change)
        if not obj.active:
            if was_active:
                org.user_event(org.USER_LEAVE, [obj.userid])
        elif not change or not was_active:
            org.user_event(org.USER_ADD, [obj.userid])
        else:
            org.user_event(org.USER_MODIFY, [obj.userid], {"userid": obj.userid, "prev": {}, "curr": {}})


@admin.register(ProcessTemplate)


class ProcessTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "process_code"]


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    readonly_fields = ["userid", "text", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ApprovalInstance)


class ApprovalInstanceAdmin(admin.ModelAdmin):
    list_display = ["business_id", "title", "status", "result", "originator", "create_time", "finish_time"]
    list_filter = ["status", "result", "template"]
    search_fields = ["business_id", "process_instance_id", "title", "originator__name", "originator__userid"]
    list_select_related = ["originator"]
    date_hierarchy = "create_time"
    show_full_result_count = False
    readonly_fields = ["form_table", "history"]
    fields = ["process_instance_id", "template", "title", "status", "result", "biz_action", "business_id",
              "originator", "originator_dept_id", "originator_dept_name", "create_time", "finish_time",
              "approver_userids", "cc_userids", "form_table", "history"]
    raw_id_fields = ["originator"]
    inlines = [CommentInline]
    actions = ["agree", "refuse", "terminate"]

    @admin.display(description=_("form values"))
    def form_table(self, instance):
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>",
            ((item.get("name", item.get("component_type")), _pretty(item.get("value", "")))
             for item in instance.form_values)))

    @admin.display(description=_("operation records"))
    def history(self, instance):
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r["date"], r["userid"], r["type"], r["result"], r.get("remark", ""))
             for r in instance.operation_records)))

    def _act(self, request, queryset, action, done):
        changed = sum(approvals.change_state(instance, action) for instance in queryset)
        self.message_user(request, done % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected running approvals"), permissions=["change"])
    def agree(self, request, queryset):
        self._act(request, queryset, approvals.Action.AGREE, _("%(count)d approval(s) approved."))

    @admin.action(description=_("Refuse the selected running approvals"), permissions=["change"])
    def refuse(self, request, queryset):
        self._act(request, queryset, approvals.Action.REFUSE, _("%(count)d approval(s) refused."))

    @admin.action(description=_("Withdraw the selected running approvals"), permissions=["change"])
    def terminate(self, request, queryset):
        self._act(request, queryset, approvals.Action.TERMINATE, _("%(count)d approval(s) withdrawn."))


def _pretty(value):
    """Detail tables are JSON text: show them indented."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return value
    if not isinstance(parsed, (list, dict)):
        return value
    return format_html("<pre>{}</pre>", json.dumps(parsed, ensure_ascii=False, indent=1))


@admin.register(WorkNotice)


class WorkNoticeAdmin(ReadOnlyAdmin):
    list_display = ["task_id", "msgtype", "title", "recipients", "created_at"]
    list_filter = ["msgtype"]
    search_fields = ["task_id"]
    readonly_fields = ["readable"]
    show_full_result_count = False

    @admin.display(description=_("title"))
    def title(self, notice):
        return inbox.readable(notice.msgtype, notice.msg)[0] or inbox.readable(notice.msgtype, notice.msg)[1][:60]

    @admin.display(description=_("as the reader sees it"))
    def readable(self, notice):
        return readable_html(*inbox.readable(notice.msgtype, notice.msg))

    @admin.display(description=_("recipients"))
    def recipients(self, notice):
        return ", ".join(notice.userids) or (_("everyone") if notice.to_all_user else "")


@admin.register(Robot)


class RobotAdmin(admin.ModelAdmin):
    list_display = ["name", "access_token", "penalty_until"]
    actions = ["lift_penalty"]

    @admin.action(description=_("Lift the rate-limit penalty"), permissions=["change"])
    def lift_penalty(self, request, queryset):
        count = queryset.update(penalty_until=None)
        self.message_user(request, ngettext("%(count)d robot may send again.", "%(count)d robots may send again.",
                                            count) % {"count": count})


@admin.register(RobotMessage)


class RobotMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "robot", "msgtype", "summary"]
    list_filter = ["robot", "msgtype"]
    list_select_related = ["robot"]
    readonly_fields = ["readable"]
    show_full_result_count = False

    @admin.display(description=_("message"))
    def summary(self, message):
        title, text, _links = inbox.readable(message.msgtype, message.body)
        return title or text[:80]

    @admin.display(description=_("as the reader sees it"))
    def readable(self, message):
        return readable_html(*inbox.readable(message.msgtype, message.body))


def readable_html(title, text, links):
    """Title, text and links of a message, as DingTalk would show them (markdown kept as text)."""
    items = format_html_join("", '<li><a href="{}" target="_blank" rel="noopener">{}</a></li>',
                             ((link, link) for link in links))
    return format_html('<strong>{}</strong><pre style="white-space:pre-wrap">{}</pre><ul>{}</ul>', title, text, items)


# --- Yida and attendance (sandbox/dingtalk/yida.py, attendance.py) ----------------------------------------


@admin.register(YidaApp)


class YidaAppAdmin(admin.ModelAdmin):
    list_display = ["name", "app_type"]
    readonly_fields = ["system_token"]


@admin.register(YidaForm)


class YidaFormAdmin(admin.ModelAdmin):
    list_display = ["name", "form_uuid", "app"]
    readonly_fields = ["components"]


@admin.register(YidaInstance)


class YidaInstanceAdmin(admin.ModelAdmin):
    """Edit `form_data` here, or change instances through the `_yida` door (it bumps version and modified time)."""

    list_display = ["title", "serial_no", "form", "instance_status", "approved_result", "version", "originator",
                    "modified_at"]
    list_filter = ["form"]
    search_fields = ["form_instance_id", "serial_no", "title"]
    readonly_fields = ["form_instance_id", "data_id", "created_at"]


@admin.register(AttendanceCorrection)


class AttendanceCorrectionAdmin(admin.ModelAdmin):
    list_display = ["userid", "day", "column", "value"]
    list_filter = ["column"]
    search_fields = ["userid"]


@admin.register(CrmCustomer)


class CrmCustomerAdmin(admin.ModelAdmin):
    """Customers of the 客户管理 app: edit `data` as a salesperson would (the portal reads it on its next run)."""

    list_display = ("instance_id", "__str__", "object_type", "deleted", "modified_at")
    list_filter = ("object_type", "deleted")
    search_fields = ("instance_id", "data")
