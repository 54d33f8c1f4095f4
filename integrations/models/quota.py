"""Shared rate budgets (the database store of `integrations.clients.limiter`) and monthly call quotas."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.models.connections import Connection


class RateBudget(models.Model):
    """One rate budget or counter, written only by the limiter's single-statement upserts."""

    name = models.CharField(max_length=200, primary_key=True)
    value = models.FloatField(default=0)

    class Meta:
        db_table = "integrations_ratebudget"
        verbose_name = _("rate budget")
        verbose_name_plural = _("rate budgets")

    def __str__(self):
        return self.name


class MonthlyQuota(models.Model):
    """A DingTalk app's monthly call quota (5,000 on a standard-edition organisation) and its alert level."""

    connection = models.OneToOneField(
        Connection, models.CASCADE, related_name="monthly_quota", verbose_name=_("DingTalk connection"),
        limit_choices_to={"kind": Connection.Kind.DINGTALK},
    )
    calls_per_month = models.PositiveIntegerField(
        _("calls per month"), default=5000,
        help_text=_("Approval and message calls DingTalk allows this organisation a month (contacts, tokens and "
                    "login are free). Standard edition: 5,000."),
    )
    alert_percent = models.PositiveSmallIntegerField(
        _("alert at (%)"), default=80, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("The schemes' robots are alerted when this share is used, or forecast to be used by the end "
                    "of the month."),
    )
    alerted_month = models.CharField(_("last alerted for"), max_length=7, blank=True, editable=False)

    class Meta:
        verbose_name = _("monthly call quota")
        verbose_name_plural = _("monthly call quotas")

    def __str__(self):
        return str(self.connection)
