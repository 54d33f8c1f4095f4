from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from integrations.models.connections import Connection
from integrations.models.runs import SyncRecord, SyncRun
from integrations.models.schemes import Scheme


class DingTalkEvent(models.Model):
    """Every event DingTalk delivered (or tried to), by HTTP callback or Stream, and what became of it."""

    class Channel(models.TextChoices):
        CALLBACK = "callback", _("HTTP callback")
        STREAM = "stream", _("Stream")

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("received")
        QUEUED = "queued", _("sync queued")
        BOOKED = "booked", _("bill booked")
        ALREADY_BOOKED = "already", _("already booked")
        NOT_BOOKED = "not_booked", _("not booked")
        IGNORED = "ignored", _("ignored")
        DUPLICATE = "duplicate", _("duplicate")
        REJECTED = "rejected", _("rejected")

    connection = models.ForeignKey(Connection, models.CASCADE, related_name="events", verbose_name=_("connection"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    event_id = models.CharField(_("event id"), max_length=100, blank=True)
    event_type = models.CharField(_("event type"), max_length=60, blank=True)
    change = models.CharField(_("change"), max_length=40, blank=True, help_text=_("type/result, e.g. finish/agree"))
    instance_id = models.CharField(_("approval instance"), max_length=128, blank=True)
    process_code = models.CharField(_("process code"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.RECEIVED)
    # Why, as data (integrations.reasons codes, rendered in the reader's language); `reason` keeps it in English
    # for search, and is all that events kept before codes existed have.
    reason = models.TextField(_("reason"), blank=True)
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    scheme = models.ForeignKey(Scheme, models.SET_NULL, null=True, blank=True, related_name="+",
                               verbose_name=_("scheme"))
    record = models.ForeignKey(SyncRecord, models.SET_NULL, null=True, blank=True, related_name="events",
                               verbose_name=_("sync record"))
    run = models.ForeignKey(SyncRun, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("run"))
    duplicate_of = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="+",
                                     verbose_name=_("duplicate of"))
    body = models.JSONField(_("event body"), null=True, blank=True)
    signature = models.CharField(_("signature"), max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(_("from address"), null=True, blank=True)

    class Meta:
        verbose_name = _("DingTalk event")
        verbose_name_plural = _("DingTalk events")
        ordering = ["-received_at", "-pk"]
        constraints = [
            # Deduplication: one kept event per event id and connection; repeats are kept as duplicates.
            models.UniqueConstraint(fields=["connection", "event_id"], name="one_event_per_event_id",
                                    condition=~Q(event_id="") & ~Q(outcome="duplicate")),
        ]
        indexes = [
            models.Index(fields=["-received_at"], name="event_received"),
            models.Index(fields=["outcome", "-received_at"], name="event_outcome_received"),
            models.Index(fields=["connection", "signature"], name="event_signature",
                         condition=~Q(signature="")),
            models.Index(fields=["instance_id"], name="event_instance", condition=~Q(instance_id="")),
        ]

    def __str__(self):
        return " ".join(filter(None, [self.event_type or self.get_outcome_display(), self.change, self.instance_id]))
