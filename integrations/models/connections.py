import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.fields import SecretField, is_undecryptable

CALLBACK_TOKEN = re.compile(r"^[A-Za-z0-9]{3,64}$")
CALLBACK_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")


def is_http_url(value):
    """Intranet servers often have one-label names (http://k3erp/), which URLValidator refuses."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


class ConnectionQuerySet(models.QuerySet):
    """Set-based writes would bypass the per-value encryption of secrets."""

    def update(self, **kwargs):
        self._refuse_secret_fields(kwargs)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        self._refuse_secret_fields(fields)
        return super().bulk_update(objs, fields, *args, **kwargs)

    def _refuse_secret_fields(self, names):
        touched = sorted(set(names) & set(Connection.SECRET_FIELDS))
        if touched:
            raise ValueError(f"Encrypted fields {touched} must be saved one row at a time with save().")


class Connection(models.Model):
    class Kind(models.TextChoices):
        DINGTALK = "dingtalk", _("DingTalk app")
        DINGTALK_ROBOT = "dingtalk_robot", _("DingTalk group robot")
        KINGDEE = "kingdee", _("Kingdee Cloud Galaxy")

    class KingdeeAuth(models.TextChoices):
        SIGNATURE = "signature", _("App secret signature (SDK v3 headers)")
        APP_SECRET_LOGIN = "app_secret_login", _("LoginByAppSecret session")
        PASSWORD = "password", _("User name and password session")

    class CallbackReceiver(models.TextChoices):
        APP_KEY = "app_key", _("AppKey (events configured in the developer console)")
        CORP_ID = "corp_id", _("CorpId (legacy register_call_back)")

    SECRET_FIELDS = ("app_secret", "password", "callback_token", "callback_aes_key", "robot_token", "robot_secret",
                     "yida_system_token")
    DEFAULT_RATE_LIMITS = {Kind.DINGTALK: 20.0, Kind.DINGTALK_ROBOT: 0.3, Kind.KINGDEE: 5.0}

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    base_url = models.CharField(
        _("server URL"),
        max_length=300,
        help_text=_(
            "DingTalk: the old API host (https://oapi.dingtalk.com/). Group robot: the webhook host "
            "(https://oapi.dingtalk.com/). Kingdee: the server URL ending in /k3cloud/."
        ),
    )
    api_base_url = models.CharField(
        _("new API URL"),
        max_length=300,
        blank=True,
        help_text=_("DingTalk only: the v1.0 API host (https://api.dingtalk.com/)."),
    )

    app_key = models.CharField(_("AppKey"), max_length=100, blank=True)
    app_secret = SecretField(_("app secret"))
    agent_id = models.CharField(_("AgentId"), max_length=30, blank=True)
    corp_id = models.CharField(_("CorpId"), max_length=100, blank=True)
    legacy_approval_api = models.BooleanField(
        _("use the legacy approval API"),
        default=False,
        help_text=_("Read approvals with topapi/processinstance/* (only apps that still hold that permission)."),
    )
    callback_token = SecretField(_("callback token"))
    callback_aes_key = SecretField(_("callback AES key"))
    callback_receiver = models.CharField(
        _("callback receiver id"), max_length=10, choices=CallbackReceiver.choices, default=CallbackReceiver.APP_KEY
    )

    yida_app_type = models.CharField(
        _("Yida app code (appType)"), max_length=64, blank=True,
        help_text=_("DingTalk only, for Yida forms: APP_…, from the Yida app's settings (应用设置 › 部署运维)."),
    )
    yida_system_token = SecretField(_("Yida system token"))

    robot_token = SecretField(_("robot access token"))
    robot_secret = SecretField(_("robot signing secret"))

    acct_id = models.CharField(_("data centre id"), max_length=100, blank=True)
    test_acct_id = models.CharField(
        _("test data centre id"), max_length=100, blank=True,
        help_text=_("Kingdee only: schemes in rehearsal write here until IT switches them to production."),
    )
    username = models.CharField(_("user name"), max_length=100, blank=True)
    app_id = models.CharField(_("app id"), max_length=200, blank=True)
    password = SecretField(_("password"))
    lcid = models.PositiveIntegerField(_("language id (lcid)"), default=2052)
    org_number = models.CharField(_("organisation number"), max_length=50, blank=True, default="0")
    auth_mode = models.CharField(
        _("Kingdee authentication"), max_length=20, choices=KingdeeAuth.choices, default=KingdeeAuth.SIGNATURE
    )

    rate_limit = models.FloatField(
        _("rate limit (requests/s)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text=_("Empty: DingTalk 20/s per API, Kingdee 5/s, robot 20/min."),
    )
    max_concurrency = models.PositiveSmallIntegerField(_("parallel requests"), default=4)
    connect_timeout = models.FloatField(_("connect timeout (s)"), default=5, validators=[MinValueValidator(0.1)])
    read_timeout = models.FloatField(_("read timeout (s)"), default=60, validators=[MinValueValidator(0.1)])

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ConnectionQuerySet.as_manager()

    # Set on the connection a scheme in rehearsal loads (see `SchemeConnection`); `client_for` then
    # opens the test data centre.
    in_rehearsal = False

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["name"]
        permissions = [("test_connection", _("Can test a connection"))]

    def __str__(self):
        return self.name

    @property
    def effective_rate_limit(self):
        return self.rate_limit or self.DEFAULT_RATE_LIMITS[self.kind]

    @property
    def data_centre_id(self):
        """The Kingdee data centre clients open: the test one in rehearsal (when there is one)."""
        return self.test_acct_id if self.in_rehearsal and self.test_acct_id else self.acct_id

    def undecryptable_secrets(self):
        return [name for name in self.SECRET_FIELDS if is_undecryptable(getattr(self, name))]

    def required_fields(self):
        if self.kind == self.Kind.DINGTALK:
            return ["base_url", "api_base_url", "app_key", "app_secret", "corp_id"]
        if self.kind == self.Kind.DINGTALK_ROBOT:
            return ["base_url", "robot_token"]
        credentials = ["password"] if self.auth_mode == self.KingdeeAuth.PASSWORD else ["app_id", "app_secret"]
        return ["base_url", "acct_id", "username", *credentials]

    def clean(self):
        errors = {}
        for name in self.required_fields():
            if not getattr(self, name) and not is_undecryptable(getattr(self, name)):
                errors[name] = _("Required for a connection of this kind.")
        for name in ("base_url", "api_base_url"):
            value = getattr(self, name)
            if value and name not in errors:
                if not is_http_url(value):
                    errors[name] = _("Enter a full http:// or https:// address.")
        errors.update(self._callback_errors())
        if errors:
            raise ValidationError(errors)

    def _callback_errors(self):
        errors = {}
        if self.callback_token and not CALLBACK_TOKEN.match(self.callback_token):
            errors["callback_token"] = _("The callback token is 3 to 64 letters or digits.")
        if self.callback_aes_key and not CALLBACK_AES_KEY.match(self.callback_aes_key):
            errors["callback_aes_key"] = _("The callback AES key is exactly 43 letters or digits.")
        return errors

    def save(self, *args, **kwargs):
        for name in ("base_url", "api_base_url"):
            value = getattr(self, name)
            if value and not value.endswith("/"):
                setattr(self, name, value + "/")
        super().save(*args, **kwargs)
