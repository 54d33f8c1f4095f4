"""What the imitation Kingdee server holds: data centres, users, authorization apps,
sessions, form data (bills and base data alike), SSO landings and its fault settings."""

from datetime import timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sandbox.faults import FaultSettings

SESSION_MINUTES = 20


class DataCentre(models.Model):
    acct_id = models.CharField(_("data centre id"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    display_version = models.CharField(_("version"), max_length=30, default="9.0.553.10")

    class Meta:
        verbose_name = _("data centre")
        verbose_name_plural = _("data centres")

    def __str__(self):
        return f"{self.name} ({self.acct_id})"


class KingdeeUser(models.Model):
    """A login user (SEC_User), which is not an employee (BD_Empinfo)."""

    user_id = models.PositiveIntegerField(_("user id"), unique=True)
    username = models.CharField(_("user name"), max_length=100, unique=True)
    account = models.CharField(_("user account"), max_length=100, blank=True)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    staff_number = models.CharField(_("staff number"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.CharField(_("email"), max_length=100, blank=True)
    password = models.CharField(_("password hash"), max_length=200, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("Kingdee user")
        verbose_name_plural = _("Kingdee users")
        ordering = ["user_id"]

    def __str__(self):
        return self.username

    def set_password(self, raw):
        self.password = make_password(raw) if raw else ""

    def check_password(self, raw):
        return bool(self.password) and check_password(raw or "", self.password)


class ThirdPartyApp(models.Model):
    """A 第三方系统登录授权 record: used by WebAPI logins, SDK signatures and SSO links."""

    class LinkMode(models.TextChoices):
        SINGLE_USE = "single_use", _("Each link logs in once")
        REUSABLE = "reusable", _("Links may be reused")

    class Algorithm(models.TextChoices):
        SHA256 = "sha256", _("SHA-256 (patch PT-146911 and later)")
        SHA1 = "sha1", _("SHA-1 (older patch levels)")

    name = models.CharField(_("name"), max_length=100)
    app_id = models.CharField(_("app id"), max_length=200, unique=True)
    app_secret = models.CharField(_("app secret"), max_length=200)
    integration_user = models.ForeignKey(
        KingdeeUser, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("integration user")
    )
    allow_all_users = models.BooleanField(_("allow all users"), default=True)
    allowed_users = models.ManyToManyField(KingdeeUser, blank=True, related_name="+", verbose_name=_("allowed users"))
    link_mode = models.CharField(_("link validity"), max_length=20, choices=LinkMode.choices,
                                 default=LinkMode.REUSABLE)
    algorithm = models.CharField(_("signature algorithm"), max_length=10, choices=Algorithm.choices,
                                 default=Algorithm.SHA256)
    validity_seconds = models.PositiveIntegerField(
        _("link validity time (s)"), default=600,
        help_text=_("Allowed clock difference for SSO links, LoginBySign and SDK timestamps; 0 refuses every request."),
    )
    verify_gateway_signature = models.BooleanField(
        _("verify X-Api-Signature"), default=True,
        help_text=_("Check the API gateway headers of the SDK as well as X-Kd-Signature."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("third-party login app")
        verbose_name_plural = _("third-party login apps")

    def __str__(self):
        return f"{self.name} ({self.app_id})"

    def allows(self, user):
        return self.allow_all_users or self.allowed_users.filter(pk=user.pk).exists()


class KingdeeSession(models.Model):
    session_id = models.CharField(_("session id"), max_length=64, unique=True)
    aspnet_id = models.CharField(_("ASP.NET session id"), max_length=64)
    user = models.ForeignKey(KingdeeUser, models.CASCADE, verbose_name=_("user"))
    app = models.ForeignKey(ThirdPartyApp, models.SET_NULL, null=True, blank=True, verbose_name=_("app"))
    via = models.CharField(_("opened by"), max_length=40)
    lcid = models.PositiveIntegerField(_("lcid"), default=2052)
    org_number = models.CharField(_("organisation"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_seen"]

    def __str__(self):
        return self.session_id

    @property
    def expired(self):
        return timezone.now() - self.last_seen > timedelta(minutes=SESSION_MINUTES)


class FormRecord(models.Model):
    """One bill or base-data record of any form, stored as Kingdee's Model JSON."""

    class Status(models.TextChoices):
        DRAFT = "Z", _("Draft")
        CREATED = "A", _("Created")
        SUBMITTED = "B", _("Submitted")
        AUDITED = "C", _("Audited")
        REAUDIT = "D", _("Re-audit")

    form_id = models.CharField(_("form"), max_length=60, db_index=True)
    fid = models.PositiveBigIntegerField(_("internal id"))
    number = models.CharField(_("number"), max_length=100)
    name = models.CharField(_("name"), max_length=200, blank=True)
    document_status = models.CharField(_("document status"), max_length=1, choices=Status.choices,
                                       default=Status.CREATED)
    forbidden = models.BooleanField(_("forbidden"), default=False)
    third_bill_no = models.CharField(_("third-party bill number"), max_length=200, blank=True, db_index=True)
    model = models.JSONField(_("model"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    modified_at = models.DateTimeField(_("modified"), auto_now=True)

    class Meta:
        verbose_name = _("form record")
        verbose_name_plural = _("form records")
        ordering = ["form_id", "fid"]
        constraints = [
            models.UniqueConstraint(fields=["form_id", "fid"], name="sandbox_kingdee_unique_fid"),
            models.UniqueConstraint(fields=["form_id", "number"], name="sandbox_kingdee_unique_number"),
        ]

    def __str__(self):
        return f"{self.form_id} {self.number}"


class Bill(FormRecord):
    class Meta:
        proxy = True
        verbose_name = _("bill")
        verbose_name_plural = _("bills")


class BaseData(FormRecord):
    class Meta:
        proxy = True
        verbose_name = _("base data record")
        verbose_name_plural = _("base data")


class Sequence(models.Model):
    """Counters for internal ids, entry ids and bill numbers, safe under concurrent writers."""

    key = models.CharField(max_length=100, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("sequence")
        verbose_name_plural = _("sequences")

    def __str__(self):
        return f"{self.key}={self.value}"

    @classmethod
    def next(cls, key, start=0, count=1):
        """The last of `count` fresh values; the row stays locked until the caller's transaction ends."""
        with transaction.atomic():
            cls.objects.get_or_create(key=key, defaults={"value": start})
            cls.objects.filter(key=key).update(value=F("value") + count)
            return cls.objects.values_list("value", flat=True).get(key=key)


class SsoLanding(models.Model):
    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Logged in")
        REFUSED = "refused", _("Refused")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    page = models.CharField(_("page"), max_length=40)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    app_id = models.CharField(_("app id"), max_length=200, blank=True)
    dbid = models.CharField(_("data centre id"), max_length=40, blank=True)
    username = models.CharField(_("user name"), max_length=100, blank=True)
    timestamp = models.CharField(_("link timestamp"), max_length=20, blank=True)
    formid = models.CharField(_("form"), max_length=60, blank=True)
    formtype = models.CharField(_("form type"), max_length=20, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # Set on accepted single-use links, so that a replay violates the constraint.
    link_key = models.CharField(_("link fingerprint"), max_length=64, null=True, blank=True)

    class Meta:
        verbose_name = _("SSO landing")
        verbose_name_plural = _("SSO landings")
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["link_key"], condition=Q(link_key__isnull=False),
                                    name="sandbox_kingdee_single_use_link"),
        ]

    def __str__(self):
        return f"{self.username or '?'} {self.get_outcome_display()}"


class KingdeeFaults(FaultSettings):
    session_loss_every = models.PositiveIntegerField(
        _("lose the session every N calls"), default=0, help_text=_("0 means never.")
    )
    session_loss_rate = models.FloatField(_("session loss rate"), default=0.0, help_text=_("Between 0 and 1."))
    throttle_rate = models.FloatField(
        _("call limit rate (MsgCode 14)"), default=0.0, help_text=_("Between 0 and 1.")
    )
    unavailable_rate = models.FloatField(
        _("HTTP 503 with an empty body rate"), default=0.0, help_text=_("Between 0 and 1.")
    )
    item_error_rate = models.FloatField(
        _("per-item business error rate"), default=0.0,
        help_text=_("Between 0 and 1: each package of Save/BatchSave fails alone with a Kingdee message."),
    )

    class Meta:
        verbose_name = _("Kingdee fault settings")
        verbose_name_plural = _("Kingdee fault settings")
