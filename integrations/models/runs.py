from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from integrations.models.schemes import DataCentre, Scheme


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", _("schedule")
    MANUAL = "manual", _("run now")
    BACKFILL = "backfill", _("backfill")
    RETRY = "retry", _("retry")
    EVENT = "event", _("DingTalk event")
    COMMAND = "command", _("command line")


class SyncRun(models.Model):
    """One execution of a scheme. Window runs hold the scheme's lease; retries and events do not."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        PARTIAL = "partial", _("finished with failures")
        FAILED = "failed", _("failed")
        ABANDONED = "abandoned", _("abandoned (worker lost)")

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="runs", verbose_name=_("scheme"))
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    exclusive = models.BooleanField(
        _("holds the scheme"), default=True, help_text=_("At most one such run per scheme at a time.")
    )
    window_start = models.DateTimeField(_("window from"), null=True, blank=True)
    window_end = models.DateTimeField(_("window to"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("requested by"),
    )
    worker = models.CharField(_("worker"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)

    read_count = models.PositiveIntegerField(_("read"), default=0)
    succeeded_count = models.PositiveIntegerField(_("booked"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    waiting_count = models.PositiveIntegerField(_("waiting"), default=0)
    adopted_count = models.PositiveIntegerField(
        _("adopted"), default=0, help_text=_("Bills found in the target by reconciliation instead of written again.")
    )
    total = models.PositiveIntegerField(_("records known"), default=0)
    done = models.PositiveIntegerField(_("records done"), default=0)
    error = models.TextField(_("error"), blank=True)
    # Why the run stopped or what it could not do, as data: [{"code", "params"}] of `integrations.reasons`
    # (the remote's own message verbatim among the params), rendered in the reader's language by
    # `reasons.describe_run`. `error` keeps the same in English for search; older runs have only it.
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    stats = models.JSONField(_("statistics"), default=dict, blank=True)
    data_centre = models.CharField(_("Kingdee data centre"), max_length=10, choices=DataCentre.choices, blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme"], condition=Q(status="running", exclusive=True), name="one_exclusive_run_per_scheme"
            )
        ]
        indexes = [
            models.Index(fields=["scheme", "-started_at"], name="run_scheme_started"),
            models.Index(fields=["status", "lease_expires_at"], name="run_status_lease"),
        ]

    def __str__(self):
        return f"{self.scheme} #{self.pk}"

    def save(self, *args, **kwargs):
        if self._state.adding and not self.data_centre:
            self.data_centre = self.scheme.data_centre  # what the run's clients open (see SchemeConnection)
        super().save(*args, **kwargs)

    @property
    def progress_percent(self):
        if not self.total:
            return 100 if self.status != self.Status.RUNNING else 0
        return min(100, round(100 * self.done / self.total))


class SyncRecord(models.Model):
    """One source record in one scheme: the idempotency ledger and finance's review list."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        WRITING = "writing", _("writing (outcome not yet known)")
        WAITING = "waiting", _("waiting for approval")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")
        HANDLED = "handled", _("handled by a person")
        # Both sides changed a field since the last sync (or the target was edited by hand): a person decides.
        CONFLICT = "conflict", _("conflict: a person decides")
        # Kingdee refused it because its accounting period is closed (or not yet open): booked when it opens.
        PERIOD = "period", _("waiting for the accounting period")

    class ErrorKind(models.TextChoices):
        NONE = "", _("none")
        MAPPING = "mapping", _("mapping")
        REJECTED = "rejected", _("rejected by the target")
        SOURCE = "source", _("source record unreadable")
        TRANSIENT = "transient", _("network or server trouble")
        CONFIGURATION = "configuration", _("connection or settings")
        RULE = "rule", _("needs a person")

    class Via(models.TextChoices):
        NONE = "", _("not booked")
        POLLING = "polling", _("polling")
        EVENT = "event", _("event")
        RETRY = "retry", _("retry")
        BACKFILL = "backfill", _("backfill")
        RECONCILED = "reconciled", _("reconciliation")

    SETTLED = (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED, Status.HANDLED, Status.CONFLICT)
    UNSETTLED = (Status.PENDING, Status.WRITING, Status.WAITING, Status.PERIOD)

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="records", verbose_name=_("scheme"))
    source_key = models.CharField(_("source key"), max_length=128)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    source_time = models.DateTimeField(
        _("source time"), null=True, blank=True, help_text=_("When the source record started (or a bound on it).")
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    source_number = models.CharField(_("source number"), max_length=64, blank=True)
    originator = models.CharField(_("originator"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, null=True, blank=True)
    waiting_period = models.CharField(_("waiting for period"), max_length=7, blank=True, default="",
                                      help_text=_("YYYY-MM: the closed accounting period the record waits for."))

    source_data = models.JSONField(_("source data"), null=True, blank=True)
    payload = models.JSONField(_("payload sent"), null=True, blank=True)
    response = models.JSONField(_("response"), null=True, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_number = models.CharField(_("bill number"), max_length=64, blank=True)
    # Master data: a hash of the payload last written; an equal one next time is not written at all.
    fingerprint = models.CharField(_("fingerprint"), max_length=64, blank=True, default="", editable=False)
    # Two-way and master data: the field values each side held at the last sync ({"source": {…}, "target": {…}}),
    # so a change the portal wrote is recognised when it comes back, and a change on both sides is a conflict.
    synced_state = models.JSONField(_("state at the last sync"), null=True, blank=True)

    error = models.TextField(_("reason"), blank=True)
    # Reasons are data: a code of `integrations.reasons` and its parameters (field, source path, value, the
    # remote's own message verbatim); pages render them in the reader's language. `error` keeps the remote's
    # words for search and for records written before codes existed.
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True, default="")
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    error_kind = models.CharField(_("reason kind"), max_length=15, choices=ErrorKind.choices, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    run = models.ForeignKey(
        SyncRun, models.SET_NULL, null=True, blank=True, related_name="records", verbose_name=_("last run")
    )
    claim = models.CharField(_("claim"), max_length=32, blank=True, editable=False)
    booked_via = models.CharField(_("booked via"), max_length=10, choices=Via.choices, blank=True, default="")
    booked_at = models.DateTimeField(_("booked"), null=True, blank=True)
    notified_at = models.DateTimeField(_("originator notified"), null=True, blank=True)

    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("handled by")
    )
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("sync record")
        verbose_name_plural = _("sync records")
        ordering = ["-updated_at"]
        permissions = [
            ("retry_syncrecord", _("Can retry a failed sync record")),
            ("handle_syncrecord", _("Can mark a sync record as handled")),
            ("resolve_syncrecord", _("Can decide a conflict of a sync record")),
        ]
        constraints = [models.UniqueConstraint(fields=["scheme", "source_key"], name="one_record_per_source_key")]
        indexes = [
            models.Index(fields=["scheme", "status", "source_time"], name="record_scheme_status_time"),
            models.Index(fields=["status", "-updated_at"], name="record_status_updated"),
            models.Index(fields=["-updated_at"], name="record_updated"),
            models.Index(fields=["target_number"], name="record_target_number"),
            models.Index(fields=["claim"], name="record_claim", condition=~Q(claim="")),
            # The review list's default (failed, skipped and conflicts, newest first) and the dashboard's open
            # counts, read from a small index whatever the size of the ledger.
            models.Index(fields=["-updated_at", "-id", "scheme", "status"], name="record_to_review",
                         condition=Q(status__in=["failed", "skipped", "conflict"])),
        ]

    def __str__(self):
        return self.title or self.source_key
