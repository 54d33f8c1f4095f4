"""The state of the imitation DingTalk organisation: org chart, app, approvals, messages."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from sandbox.faults import FaultSettings


class SandboxSettings(FaultSettings):
    class TokenErrorStyle(models.TextChoices):
        SUB_CODE = "88", _("errcode 88 with sub_code 40014 (as observed)")
        TOP_LEVEL = "42001", _("errcode 42001 (as documented)")

    token_ttl = models.PositiveIntegerField(_("access token lifetime (s)"), default=7200)
    expire_token_every = models.PositiveIntegerField(
        _("expire the token every N calls"), default=0, help_text=_("0 means never.")
    )
    token_error_style = models.CharField(
        _("expired token answer (old API)"), max_length=5, choices=TokenErrorStyle.choices,
        default=TokenErrorStyle.SUB_CODE,
    )
    monthly_quota = models.PositiveIntegerField(
        _("monthly call quota"), default=0,
        help_text=_("Approval and message calls per month; 0 means unlimited (a standard-edition org has 5000)."),
    )
    mobile_visible = models.BooleanField(_("mobile numbers readable"), default=True)
    email_visible = models.BooleanField(_("e-mail and personal fields readable"), default=True)
    event_duplicate_rate = models.FloatField(
        _("duplicate event deliveries"), default=0.02, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Share of events delivered twice (DingTalk delivers at least once), between 0 and 1."),
    )
    stream_ack_timeout = models.FloatField(
        _("Stream: redeliver after (s) without an ack"), default=5.0, validators=[MinValueValidator(0.1)]
    )
    stream_ping_seconds = models.FloatField(
        _("Stream: ping every (s)"), default=30.0, validators=[MinValueValidator(0.1)]
    )
    stream_rotate_seconds = models.FloatField(
        _("Stream: disconnect every (s)"), default=0.0,
        help_text=_("The gateway asks clients to reconnect this often, as DingTalk rotates connections; 0 means never."),
    )

    class Meta:
        verbose_name = _("fault and limit settings")
        verbose_name_plural = _("fault and limit settings")


class QuotaUsage(models.Model):
    month = models.CharField(_("month"), max_length=7, unique=True)
    calls = models.PositiveIntegerField(_("calls"), default=0)

    class Meta:
        verbose_name = _("monthly quota usage")
        verbose_name_plural = _("monthly quota usage")
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month}: {self.calls}"


class App(models.Model):
    class PushMode(models.TextChoices):
        NONE = "", _("no event push")
        HTTP = "http", _("HTTP push (encrypted callback)")
        STREAM = "stream", _("Stream mode")

    name = models.CharField(_("name"), max_length=100)
    app_key = models.CharField(_("AppKey"), max_length=64, unique=True)
    app_secret = models.CharField(_("AppSecret"), max_length=128)
    agent_id = models.BigIntegerField(_("AgentId"), unique=True)
    corp_id = models.CharField(_("CorpId"), max_length=64)
    callback_token = models.CharField(_("callback token"), max_length=64, blank=True)
    callback_aes_key = models.CharField(_("callback AES key"), max_length=43, blank=True)
    push_mode = models.CharField(_("event push"), max_length=6, choices=PushMode.choices, blank=True, default="")
    callback_url = models.CharField(
        _("HTTP push URL"), max_length=300, blank=True, help_text=_("Where approval events are posted, encrypted.")
    )

    class Meta:
        verbose_name = _("app")
        verbose_name_plural = _("apps")

    def __str__(self):
        return self.name

    def clean(self):
        if self.callback_url and not self.callback_url.startswith(("http://", "https://")):
            raise ValidationError({"callback_url": _("Enter a full http:// or https:// address.")})
        if self.push_mode == self.PushMode.HTTP and not self.callback_url:
            raise ValidationError({"callback_url": _("HTTP push needs a URL.")})


class AccessToken(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="tokens")
    token = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Department(models.Model):
    dept_id = models.BigIntegerField(_("department id"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent_id = models.BigIntegerField(_("parent department id"), null=True, blank=True, db_index=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["order", "dept_id"]

    def __str__(self):
        return self.name


class Employee(models.Model):
    userid = models.CharField(_("userid"), max_length=64, unique=True)
    unionid = models.CharField(_("unionid"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=50)
    mobile = models.CharField(_("mobile"), max_length=20, db_index=True)
    email = models.CharField(_("e-mail"), max_length=100, blank=True)
    job_number = models.CharField(_("job number"), max_length=30, blank=True)
    title = models.CharField(_("title"), max_length=50, blank=True)
    hired_date = models.DateField(_("hired"), null=True, blank=True)
    departments = models.ManyToManyField(Department, related_name="members", verbose_name=_("departments"))
    leader_in = models.JSONField(_("leads departments"), default=list, blank=True)
    manager_userid = models.CharField(_("manager userid"), max_length=64, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    admin = models.BooleanField(_("administrator"), default=False)
    boss = models.BooleanField(_("boss"), default=False)
    active = models.BooleanField(
        _("in the organisation"), default=True, help_text=_("Untick to make the person leave: the APIs forget them.")
    )
    # Shown beside the name in the sandbox's DingTalk client; the demo set-up marks who the portal cannot map.
    demo_note = models.CharField(_("note in the client"), max_length=100, blank=True)
    left_at = models.DateTimeField(_("left"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        ordering = ["job_number", "userid"]

    def __str__(self):
        return self.name

    def dept_ids(self):
        return [d.dept_id for d in self.departments.all()]


class ProcessTemplate(models.Model):
    process_code = models.CharField(_("process code"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=100)
    form = models.JSONField(_("form components"), default=list)

    class Meta:
        verbose_name = _("approval template")
        verbose_name_plural = _("approval templates")

    def __str__(self):
        return self.name


class ApprovalInstance(models.Model):
    class Status(models.TextChoices):
        NEW = "NEW", _("new")
        RUNNING = "RUNNING", _("running")
        COMPLETED = "COMPLETED", _("completed")
        TERMINATED = "TERMINATED", _("terminated")
        CANCELED = "CANCELED", _("canceled")

    class Result(models.TextChoices):
        NONE = "", _("none")
        AGREE = "agree", _("agreed")
        REFUSE = "refuse", _("refused")

    process_instance_id = models.CharField(_("instance id"), max_length=64, unique=True)
    template = models.ForeignKey(ProcessTemplate, on_delete=models.CASCADE, verbose_name=_("template"))
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    result = models.CharField(_("result"), max_length=8, choices=Result.choices, blank=True, default="")
    biz_action = models.CharField(_("business action"), max_length=10, default="NONE")
    business_id = models.CharField(_("approval number"), max_length=30, db_index=True)
    originator = models.ForeignKey(Employee, on_delete=models.CASCADE, verbose_name=_("originator"))
    originator_dept_id = models.CharField(_("originator department id"), max_length=20)
    originator_dept_name = models.CharField(_("originator department"), max_length=200)
    create_time = models.DateTimeField(_("created"))
    finish_time = models.DateTimeField(_("finished"), null=True, blank=True)
    approver_userids = models.JSONField(_("approvers (userids)"), default=list, blank=True)
    cc_userids = models.JSONField(_("copied to (userids)"), default=list, blank=True)
    attached_process_instance_ids = models.JSONField(default=list, blank=True)
    main_process_instance_id = models.CharField(max_length=64, blank=True)
    # Stored as the old API returns them: every value a string, tables as JSON text.
    form_values = models.JSONField(_("form values"), default=list)
    # Times inside records and tasks are ISO 8601 UTC strings; each API renders its own format.
    operation_records = models.JSONField(default=list, blank=True)
    tasks = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("approval instance")
        verbose_name_plural = _("approval instances")
        ordering = ["-create_time"]
        indexes = [models.Index(fields=["template", "create_time"]), models.Index(fields=["status", "result"])]

    def __str__(self):
        return self.title


class Comment(models.Model):
    instance = models.ForeignKey(ApprovalInstance, on_delete=models.CASCADE, related_name="comments")
    userid = models.CharField(_("userid"), max_length=64)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at"]


class AuthCode(models.Model):
    class Kind(models.TextChoices):
        JSAPI = "jsapi", _("in-client login-free code")
        OAUTH2 = "oauth2", _("web login code")

    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class UserToken(models.Model):
    """OAuth2 user access token, for v1.0/contact/users/me."""

    app = models.ForeignKey(App, on_delete=models.CASCADE)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE)
    access_token = models.CharField(max_length=64, unique=True)
    refresh_token = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()


class WorkNotice(models.Model):
    task_id = models.BigIntegerField(_("task id"), unique=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, verbose_name=_("app"))
    userids = models.JSONField(_("recipients"), default=list)
    dept_ids = models.JSONField(_("departments"), default=list, blank=True)
    to_all_user = models.BooleanField(_("to everyone"), default=False)
    msgtype = models.CharField(_("message type"), max_length=20)
    msg = models.JSONField(_("message"))
    send_result = models.JSONField(_("send result"), default=dict)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("work notification")
        verbose_name_plural = _("work notifications")
        ordering = ["-created_at"]

    def __str__(self):
        return str(self.task_id)


class Robot(models.Model):
    name = models.CharField(_("name"), max_length=100)
    access_token = models.CharField(_("access token"), max_length=100, unique=True)
    secret = models.CharField(_("signing secret"), max_length=100, blank=True)
    penalty_until = models.DateTimeField(_("throttled until"), null=True, blank=True)

    class Meta:
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")

    def __str__(self):
        return self.name


class RobotMessage(models.Model):
    robot = models.ForeignKey(Robot, on_delete=models.CASCADE, related_name="messages", verbose_name=_("robot"))
    msgtype = models.CharField(_("message type"), max_length=20)
    body = models.JSONField(_("body"))
    msg_uuid = models.CharField(_("message UUID"), max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("robot message")
        verbose_name_plural = _("robot messages")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.robot} {self.msgtype}"


class PushedEvent(models.Model):
    """One event for one app: the outbox both push modes deliver from, at least once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be delivered")
        SENDING = "sending", _("being delivered")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("gave up")

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="events", verbose_name=_("app"))
    channel = models.CharField(_("channel"), max_length=6, choices=App.PushMode.choices)
    event_id = models.CharField(_("event id"), max_length=64, unique=True)
    event_type = models.CharField(_("event type"), max_length=40)
    process_instance_id = models.CharField(_("instance id"), max_length=64, blank=True, db_index=True)
    summary = models.CharField(_("change"), max_length=40, blank=True)
    body = models.JSONField(_("event body"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    deliveries = models.PositiveIntegerField(
        _("deliveries"), default=0, help_text=_("Successful deliveries; more than one is a duplicate.")
    )
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    message_id = models.CharField(_("Stream message id"), max_length=64, blank=True, db_index=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("pushed event")
        verbose_name_plural = _("pushed events")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["channel", "status", "next_attempt_at"], name="push_due")]

    def __str__(self):
        return f"{self.event_type} {self.summary} {self.process_instance_id}"


class StreamTicket(models.Model):
    """Issued by /v1.0/gateway/connections/open: single use, valid 90 seconds."""

    ticket = models.CharField(max_length=64, unique=True)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="stream_tickets")
    subscriptions = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class StreamGateway(models.Model):
    """Where `sandbox_stream` listens (one row), so the open API can hand out its endpoint."""

    endpoint = models.CharField(_("endpoint"), max_length=200)
    pid = models.PositiveIntegerField(_("process id"), default=0)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    sessions = models.PositiveIntegerField(_("connections opened"), default=0)
    pongs = models.PositiveIntegerField(_("pings answered"), default=0)

    class Meta:
        verbose_name = _("Stream gateway")
        verbose_name_plural = _("Stream gateway")

    def __str__(self):
        return self.endpoint


# --- Yida (宜搭) apps, forms and instances; attendance corrections (round 2 §4–5) -------------------


class YidaApp(models.Model):
    app_type = models.CharField(_("app code (appType)"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    system_token = models.CharField(_("system token"), max_length=64)

    class Meta:
        verbose_name = _("Yida app")
        verbose_name_plural = _("Yida apps")

    def __str__(self):
        return f"{self.name} ({self.app_type})"


class YidaForm(models.Model):
    app = models.ForeignKey(YidaApp, on_delete=models.CASCADE, related_name="forms", verbose_name=_("Yida app"))
    form_uuid = models.CharField(_("form id (formUuid)"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # [{"fieldId", "label", "componentName", "parentId"}], sub-table columns carry their table's fieldId.
    components = models.JSONField(_("components"), default=list)
    # A process (approval) form's code, TPROC--…; empty for a plain form.
    process_code = models.CharField(_("process code"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("Yida form")
        verbose_name_plural = _("Yida forms")

    def __str__(self):
        return self.name


class YidaInstance(models.Model):
    form = models.ForeignKey(YidaForm, on_delete=models.CASCADE, related_name="instances", verbose_name=_("Yida form"))
    form_instance_id = models.CharField(_("instance id (formInstanceId)"), max_length=80, unique=True)
    data_id = models.BigIntegerField(_("data id"), unique=True)
    serial_no = models.CharField(_("serial number"), max_length=40, blank=True)
    title = models.CharField(_("title"), max_length=200)
    version = models.PositiveIntegerField(_("version"), default=1)
    originator = models.CharField(_("originator userid"), max_length=64)
    modifier = models.CharField(_("modifier userid"), max_length=64)
    created_at = models.DateTimeField(_("created"))
    modified_at = models.DateTimeField(_("modified"), db_index=True)
    form_data = models.JSONField(_("form data"), default=dict)
    class ProcessStatus(models.TextChoices):
        RUNNING = "RUNNING", _("running")
        TERMINATED = "TERMINATED", _("terminated")
        COMPLETED = "COMPLETED", _("completed")
        ERROR = "ERROR", _("error")

    class ProcessResult(models.TextChoices):
        AGREE = "agree", _("agreed")
        DISAGREE = "disagree", _("refused")

    # Process forms only (empty on a plain form's instances): the status, and the result once completed.
    instance_status = models.CharField(_("instance status"), max_length=12, blank=True, choices=ProcessStatus.choices)
    approved_result = models.CharField(_("approval result"), max_length=10, blank=True, choices=ProcessResult.choices)

    class Meta:
        verbose_name = _("Yida form instance")
        verbose_name_plural = _("Yida form instances")
        ordering = ["modified_at", "pk"]

    def __str__(self):
        return self.title


class AttendanceCorrection(models.Model):
    """A value of one attendance column (or leave type) on one day that replaces the generated one."""

    userid = models.CharField(_("userid"), max_length=64)
    day = models.DateField(_("day"))
    column = models.CharField(_("column or leave type"), max_length=50)
    value = models.CharField(_("value"), max_length=20)

    class Meta:
        verbose_name = _("attendance correction")
        verbose_name_plural = _("attendance corrections")
        constraints = [models.UniqueConstraint(fields=["userid", "day", "column"], name="sandbox_attendance_once")]

    def __str__(self):
        return f"{self.userid} {self.day} {self.column}={self.value}"


class CrmCustomer(models.Model):
    """One customer of the 客户管理 app (round 2 §6): an instance id, the form's `data` keyed by field name,
    负责人 / 协同人. A deleted customer is kept (`deleted`) so that the door can tell what happened."""

    instance_id = models.CharField(_("instance id"), max_length=64, unique=True)
    object_type = models.CharField(_("object type"), max_length=40, default="crm_customer")
    data = models.JSONField(_("data"), default=dict)
    extend_data = models.JSONField(_("extend data"), default=dict, blank=True)
    creator_userid = models.CharField(_("creator"), max_length=64, blank=True)
    owner_userids = models.JSONField(_("owners (负责人)"), default=list, blank=True)
    participant_userids = models.JSONField(_("participants (协同人)"), default=list, blank=True)
    deleted = models.BooleanField(_("deleted"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    modified_at = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        verbose_name = _("CRM customer")
        verbose_name_plural = _("CRM customers")
        ordering = ["pk"]

    def __str__(self):
        return str((self.data or {}).get("customer_name") or self.instance_id)
