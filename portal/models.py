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
