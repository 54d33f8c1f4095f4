"""The inventory lookup's settings and who may see which organisations and warehouses."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.models import Connection
from sso.models import IdentityMap


def numbers(text):
    """"100, 101" → ["100", "101"] (Chinese commas and spaces allowed)."""
    return [part.strip() for part in (text or "").replace("，", ",").replace(" ", ",").split(",") if part.strip()]


class LookupSettings(models.Model):
    """One row: where the lookup reads and how hard it may be used."""

    kingdee = models.ForeignKey(Connection, models.PROTECT, related_name="+", limit_choices_to={"kind": "kingdee"},
                                verbose_name=_("Kingdee connection"))
    enabled = models.BooleanField(_("enabled"), default=True)
    cache_seconds = models.PositiveIntegerField(
        _("fresh for (seconds)"), default=60, validators=[MaxValueValidator(3600)],
        help_text=_("A repeated search within this time is answered without asking Kingdee."))
    searches_per_minute = models.PositiveIntegerField(
        _("searches per person and minute"), default=30, validators=[MinValueValidator(1)])
    max_results = models.PositiveIntegerField(_("materials shown per search"), default=20,
                                              validators=[MinValueValidator(1), MaxValueValidator(100)])

    class Meta:
        verbose_name = _("inventory lookup settings")
        verbose_name_plural = _("inventory lookup settings")

    def __str__(self):
        return str(self._meta.verbose_name)

    @classmethod
    def current(cls):
        """The settings in force (searches read them through `access`'s memo, renewed when they are saved); the
        connection is loaded only when a search asks Kingdee."""
        return cls.objects.filter(enabled=True).order_by("pk").first()


class InventoryScope(models.Model):
    """A group of identity-map users and the organisations and warehouses they may see."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(IdentityMap, related_name="+", blank=True, verbose_name=_("members"))
    orgs = models.CharField(_("organisations"), max_length=500, blank=True,
                            help_text=_("Kingdee organisation numbers, comma-separated; empty: all."))
    warehouses = models.CharField(_("warehouses"), max_length=1000, blank=True,
                                  help_text=_("Kingdee warehouse numbers, comma-separated; empty: all."))

    class Meta:
        verbose_name = _("inventory visibility group")
        verbose_name_plural = _("inventory visibility groups")
        ordering = ["name"]

    def __str__(self):
        return self.name
