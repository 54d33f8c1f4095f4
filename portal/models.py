from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """Written by a scheduled task, so the web side can tell the worker is alive."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    beat_at = models.DateTimeField(_("last beat"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self):
        return self.name

    @classmethod
    def beat(cls, name):
        cls.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})

    @classmethod
    def age_seconds(cls, name):
        beat_at = cls.objects.filter(name=name).values_list("beat_at", flat=True).first()
        return None if beat_at is None else (timezone.now() - beat_at).total_seconds()


class SensitiveField(models.Model):
    """A field whose values only IT sees in full; everyone else reads its last four digits."""

    name = models.CharField(
        _("field"), max_length=100, unique=True,
        help_text=_("A Kingdee field key (FOPPOSITEBANKACCOUNT) or a DingTalk form label (收款账号), as it appears "
                    "in source data, payloads and answers; upper and lower case alike."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("sensitive field")
        verbose_name_plural = _("sensitive fields")
        ordering = ["name"]
        permissions = [("view_unmasked", _("Can see sensitive fields unmasked"))]

    def __str__(self):
        return self.name

    @classmethod
    def masker_for(cls, user):
        """A Masker for what `user` may read, or None when they see everything."""
        from portal.masking import Masker

        if user.has_perm("portal.view_unmasked"):
            return None
        return Masker(cls.objects.values_list("name", flat=True))


class PortalLogin(models.Model):
    """A login to the portal itself (the admin), or a failed attempt; SSO logins into Kingdee are sso.LoginEvent."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("logged in")
        FAILED = "failed", _("wrong user name or password")

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    username = models.CharField(_("user name"), max_length=150, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                             verbose_name=_("user"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("portal login")
        verbose_name_plural = _("portal logins")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.username} {self.get_outcome_display()}"

    @classmethod
    def record(cls, request, username, user=None, outcome=Outcome.SUCCESS):
        meta = request.META if request is not None else {}
        return cls.objects.create(username=(username or "")[:150], user=user, outcome=outcome,
                                  ip=meta.get("REMOTE_ADDR") or None, user_agent=meta.get("HTTP_USER_AGENT", "")[:200])


def portal_login_succeeded(sender, request, user, **kwargs):
    PortalLogin.record(request, user.get_username(), user)


def portal_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`; only the user name is kept.
    PortalLogin.record(request, credentials.get("username", ""), outcome=PortalLogin.Outcome.FAILED)
