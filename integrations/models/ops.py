from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.models.connections import Connection
from integrations.models.runs import SyncRecord, SyncRun
from integrations.models.schemes import Scheme


class ReviewRecord(SyncRecord):
    """Finance's view of the ledger: records that did not reach the target, and why."""

    class Meta:
        proxy = True
        verbose_name = _("record to review")
        verbose_name_plural = _("records to review")


class SchemeVersion(models.Model):
    """A scheme's settings, mapping rows and value maps as they were after one committed change."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        CHANGED = "changed", _("changed")
        IMPORTED = "imported", _("imported from a file")
        RESTORED = "restored", _("restored")

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="versions", verbose_name=_("scheme"))
    number = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("saved by")
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices, default=Action.CHANGED)
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    snapshot = models.JSONField(_("snapshot"))
    digest = models.CharField(_("digest"), max_length=64)
    changes = models.JSONField(_("changes"), default=list, blank=True)

    class Meta:
        verbose_name = _("scheme version")
        verbose_name_plural = _("scheme versions")
        ordering = ["scheme", "-number"]
        constraints = [models.UniqueConstraint(fields=["scheme", "number"], name="one_version_number_per_scheme")]

    def __str__(self):
        return f"{self.scheme} v{self.number}"


class Alert(models.Model):
    """One group-robot alert: sent, failed to send, or held back by the scheme's alert window."""

    class Kind(models.TextChoices):
        RECORDS_FAILED = "records", _("records failed")
        RUNS_FAILED = "runs", _("runs failed in a row")
        WORKER_STOPPED = "worker", _("worker stopped")
        QUOTA = "quota", _("monthly call quota running out")

    class Status(models.TextChoices):
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("could not be sent")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SENDING)
    scheme = models.ForeignKey(Scheme, models.CASCADE, null=True, blank=True, related_name="alerts",
                               verbose_name=_("scheme"))
    run = models.ForeignKey(SyncRun, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("run"))
    connection = models.ForeignKey(Connection, models.CASCADE, related_name="alerts", verbose_name=_("robot"))
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    held_back = models.PositiveIntegerField(
        _("held back before it"), default=0, help_text=_("Alerts not sent in the window before this one.")
    )
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["-created_at"], name="alert_created")]

    def __str__(self):
        return self.title


class AlertGate(models.Model):
    """When a scheme (or a robot, for worker alerts) last alerted: at most one alert per window."""

    key = models.CharField(_("key"), max_length=50, unique=True)
    last_sent_at = models.DateTimeField(_("last alert"), null=True, blank=True)
    held_back = models.PositiveIntegerField(_("held back since"), default=0)

    class Meta:
        verbose_name = _("alert window")
        verbose_name_plural = _("alert windows")

    def __str__(self):
        return self.key
