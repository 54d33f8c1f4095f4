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
