import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.fields import SecretField
from sso.kingdee_link import FORM_ID, FORM_TYPES, DeepLink


def only_dingtalk_organisation():
    """The DingTalk connection, when there is exactly one: what a row or look-up without an organisation means."""
    from integrations.models import Connection

    found = list(Connection.objects.filter(kind=Connection.Kind.DINGTALK).order_by("pk")[:2])
    return found[0] if len(found) == 1 else None


class IdentityMapQuerySet(models.QuerySet):
    def of(self, organisation):
        """The rows of one DingTalk organisation (a Connection or its id); rows without one count as the only
        DingTalk connection's, as long as there is only one."""
        pk = getattr(organisation, "pk", organisation)
        only = only_dingtalk_organisation()
        if only is not None and only.pk == pk:
            return self.filter(models.Q(dingtalk=pk) | models.Q(dingtalk__isnull=True))
        return self.filter(dingtalk=pk)


class IdentityMap(models.Model):
    """Who is who: a DingTalk user and the Kingdee user and staff number they act as.

    DingTalk user ids are unique within one organisation only, so each row belongs to the DingTalk connection
    (app) of its organisation; a row saved without one belongs to the only DingTalk connection, if there is one.
    """

    dingtalk = models.ForeignKey(
        "integrations.Connection",
        on_delete=models.SET_NULL,  # kept, unassigned: export them and import them into the new connection
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "dingtalk"},
        verbose_name=_("DingTalk organisation"),
        help_text=_("The DingTalk app connection of the organisation this user id belongs to."),
    )
    dingtalk_userid = models.CharField(_("DingTalk user id"), max_length=64, db_index=True)
    dingtalk_unionid = models.CharField(_("DingTalk union id"), max_length=64, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=30, blank=True, db_index=True)
    kingdee_username = models.CharField(_("Kingdee user name"), max_length=100, blank=True)
    kingdee_staff_number = models.CharField(_("Kingdee staff number"), max_length=50, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = IdentityMapQuerySet.as_manager()

    class Meta:
        verbose_name = _("identity mapping")
        verbose_name_plural = _("identity map")
        ordering = ["dingtalk_userid"]
        constraints = [
            models.UniqueConstraint(fields=["dingtalk", "dingtalk_userid"], name="sso_identity_userid_per_org"),
            models.UniqueConstraint(fields=["dingtalk_userid"], condition=models.Q(dingtalk__isnull=True),
                                    name="sso_identity_userid_unassigned"),
        ]

    def __str__(self):
        return f"{self.name or self.dingtalk_userid} → {self.kingdee_username or self.kingdee_staff_number}"

    def clean(self):
        if self.dingtalk_id and self.dingtalk.kind != "dingtalk":
            raise ValidationError({"dingtalk": _("Choose a DingTalk app connection.")})

    def save(self, *args, **kwargs):
        if self.dingtalk_id is None:
            self.dingtalk = only_dingtalk_organisation()
        super().save(*args, **kwargs)


def parse_allowed_forms(text):
    """One `FORMID` or `FORMID:formtype` per line; the form type defaults to `list`."""
    forms = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        form_id, _sep, form_type = line.partition(":")
        form_id, form_type = form_id.strip(), (form_type.strip() or "list")
        if not FORM_ID.match(form_id) or form_type not in FORM_TYPES:
            raise ValueError(number, line)
        forms[form_id.upper()] = DeepLink(form_id, form_type)
    return forms


class KingdeeSSOSettings(models.Model):
    """How one Kingdee data centre accepts third-party logins, and whose DingTalk users may use it."""

    class Algorithm(models.TextChoices):
        SHA256 = "sha256", _("SHA-256 (patches from May 2022 on)")
        SHA1 = "sha1", _("SHA-1 (patches before May 2022)")

    class LinkMode(models.TextChoices):
        SINGLE_USE = "single_use", _("each link logs in once")
        REUSABLE = "reusable", _("links may be reused until they expire")

    kingdee = models.OneToOneField(
        "integrations.Connection",
        on_delete=models.CASCADE,
        related_name="sso_settings",
        limit_choices_to={"kind": "kingdee"},
        verbose_name=_("Kingdee connection"),
        help_text=_("Users are sent to this connection's server URL and nowhere else."),
    )
    dingtalk = models.ForeignKey(
        "integrations.Connection",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "dingtalk"},
        verbose_name=_("DingTalk connection"),
        help_text=_("Only members of this DingTalk organisation (its CorpId) may log in."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    app_id = models.CharField(
        _("third-party login app id"), max_length=200, help_text=_("From 第三方系统登录授权 in Kingdee.")
    )
    app_secret = SecretField(_("third-party login app secret"))
    dbid = models.CharField(_("data centre id"), max_length=100, help_text=_("Shown by 生成测试链接 in Kingdee."))
    lcid = models.PositiveIntegerField(
        _("language id (lcid)"), default=2052, help_text=_("2052 Simplified Chinese, 1033 English, 3076 Traditional.")
    )
    algorithm = models.CharField(
        _("signature algorithm"), max_length=10, choices=Algorithm.choices, default=Algorithm.SHA256
    )
    link_mode = models.CharField(
        _("link validity"),
        max_length=20,
        choices=LinkMode.choices,
        default=LinkMode.SINGLE_USE,
        help_text=_("Must match 链接有效性 of the authorization record in Kingdee."),
    )
    allowed_forms = models.TextField(
        _("allowed deep-link forms"),
        blank=True,
        help_text=_("One Kingdee form id per line, optionally with a form type: AP_PAYBILL:list. Empty: none."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Kingdee SSO settings")
        verbose_name_plural = _("Kingdee SSO settings")

    def __str__(self):
        return str(self.kingdee)

    def clean(self):
        errors = {}
        if self.kingdee_id and self.kingdee.kind != "kingdee":
            errors["kingdee"] = _("Choose a Kingdee connection.")
        if self.dingtalk_id and self.dingtalk.kind != "dingtalk":
            errors["dingtalk"] = _("Choose a DingTalk app connection.")
        if not self.app_secret:
            errors["app_secret"] = _("Required: Kingdee signs nothing without it.")
        try:
            parse_allowed_forms(self.allowed_forms)
        except ValueError as exc:
            number, line = exc.args
            errors["allowed_forms"] = _("Line %(number)s is not a form id (optionally :type): %(line)s") % {
                "number": number,
                "line": line,
            }
        if errors:
            raise ValidationError(errors)

    @property
    def single_use(self):
        return self.link_mode == self.LinkMode.SINGLE_USE

    def deep_link(self, form_id):
        """The allowed form of that id, or None."""
        return parse_allowed_forms(self.allowed_forms).get((form_id or "").upper())


REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 characters: a random byte modulo 32 picks evenly


def new_reference():
    """Short enough to read over the phone, no 0/O or 1/I to confuse (one call for all ten random characters)."""
    return "".join(REFERENCE_ALPHABET[byte % 32] for byte in secrets.token_bytes(10))


class LoginEvent(models.Model):
    """One SSO attempt; refusals carry a reason and the reference number the user was shown."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("logged in")
        REFUSED = "refused", _("refused")

    class Flow(models.TextChoices):
        IN_CLIENT = "in_client", _("inside DingTalk")
        OAUTH = "oauth", _("browser (DingTalk web login)")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        NOT_CONFIGURED = "not_configured", _("Kingdee SSO not configured")
        MISSING_CODE = "missing_code", _("no authorization code")
        CODE_REJECTED = "code_rejected", _("authorization code expired or already used")
        DINGTALK_ERROR = "dingtalk_error", _("DingTalk error")
        WRONG_ORG = "wrong_org", _("not a member of the organisation")
        BAD_STATE = "bad_state", _("forged or missing state")
        UNMAPPED = "unmapped", _("no identity mapping")
        DISABLED = "disabled", _("identity mapping disabled")
        FORM_NOT_ALLOWED = "form_not_allowed", _("deep link to a form that is not allowed")
        RATE_LIMITED = "rate_limited", _("too many attempts")
        KEY_LOST = "key_lost", _("encryption key lost (secrets unreadable)")

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    reference = models.CharField(_("reference"), max_length=12, default=new_reference, db_index=True, editable=False)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    flow = models.CharField(_("flow"), max_length=10, choices=Flow.choices)
    name = models.CharField(_("who"), max_length=100, blank=True)
    dingtalk_userid = models.CharField(_("DingTalk user id"), max_length=64, blank=True, db_index=True)
    kingdee_username = models.CharField(_("Kingdee user"), max_length=100, blank=True)
    form_id = models.CharField(_("deep-link form"), max_length=80, blank=True)
    sso_settings = models.ForeignKey(
        KingdeeSSOSettings, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("Kingdee SSO settings")
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    detail = models.CharField(
        _("detail for IT"), max_length=300, blank=True, help_text=_("Never shown to the user; never holds a secret.")
    )

    class Meta:
        verbose_name = _("login event")
        verbose_name_plural = _("login events")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.reference} {self.get_outcome_display()}"


class RateWindow(models.Model):
    """The SSO requests of one address in one window of the rate limit (`sso.ratelimit`, database store)."""

    key = models.CharField(max_length=100, primary_key=True)
    hits = models.PositiveIntegerField(default=0)
    ends_at = models.FloatField(db_index=True)  # seconds since the epoch; the row goes once it has passed


class IdentityImport(models.Model):
    """One uploaded identity-map file: checked in the worker, then (if valid and confirmed) applied there."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("checking")
        INVALID = "invalid", _("has bad rows")
        READY = "ready", _("ready to import")
        QUEUED = "queued", _("queued")
        IMPORTING = "importing", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    BAD_ROWS_KEPT = 500
    CHANGES_KEPT = 500

    file_name = models.CharField(_("file"), max_length=200)
    content = models.BinaryField(_("content"), editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, verbose_name=_("uploaded by")
    )
    dingtalk = models.ForeignKey(
        "integrations.Connection", on_delete=models.SET_NULL, null=True, related_name="+",
        verbose_name=_("DingTalk organisation"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CHECKING)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    new_rows = models.PositiveIntegerField(_("new"), default=0)
    changed_rows = models.PositiveIntegerField(_("changed"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("unchanged"), default=0)
    bad_count = models.PositiveIntegerField(_("bad rows"), default=0)
    bad_rows = models.JSONField(_("bad rows (first 500)"), default=list, blank=True)
    # The preview: which rows change and how, field by field ([{"row", "userid", "name", "new", "fields"}…]).
    changes = models.JSONField(_("changes (first 500)"), default=list, blank=True)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    normalised_count = models.PositiveIntegerField(_("rows read with corrections"), default=0)
    normalised_rows = models.JSONField(_("corrections (first 500)"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of the worker"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("identity map import")
        verbose_name_plural = _("identity map imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def in_progress(self):
        return self.status in (self.Status.CHECKING, self.Status.QUEUED, self.Status.IMPORTING)

    @property
    def percent(self):
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
