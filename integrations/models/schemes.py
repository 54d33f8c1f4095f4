from datetime import timedelta

from croniter import croniter
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from integrations import adapters, mapping
from integrations.models.connections import Connection

SCHEDULE_TASK = "integrations.tasks.run_scheduled_scheme"
RECONCILE_TASK = "integrations.tasks.reconcile_scheme"
RECONCILED_KINDS = ("kingdee.save", "kingdee.voucher")  # targets whose bills carry an amount to compare


class DataCentre(models.TextChoices):
    TEST = "test", _("test data centre (rehearsal)")
    PRODUCTION = "production", _("production data centre")


class Scheme(models.Model):
    """集成方案: where records come from, where they go, how fields map, and when it runs."""

    class ScheduleKind(models.TextChoices):
        MANUAL = "manual", _("manual only")
        INTERVAL = "interval", _("every N minutes")
        CRON = "cron", _("cron expression")

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    template = models.CharField(_("created from template"), max_length=100, blank=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)

    source_connection = models.ForeignKey(
        Connection, models.PROTECT, related_name="source_schemes", verbose_name=_("source connection")
    )
    source_kind = models.CharField(_("source kind"), max_length=50, choices=adapters.source_choices())
    source_params = models.JSONField(_("source settings"), default=dict, blank=True)
    target_connection = models.ForeignKey(
        Connection, models.PROTECT, related_name="target_schemes", verbose_name=_("target connection")
    )
    target_kind = models.CharField(_("target kind"), max_length=50, choices=adapters.target_choices())
    target_params = models.JSONField(_("target settings"), default=dict, blank=True)
    rehearsal = models.BooleanField(
        _("rehearsal (test data centre)"), default=True,
        help_text=_("Runs write to the Kingdee connection's test data centre until IT clears this box. "
                    "A connection without a test data centre is production."),
    )
    dedupe_field = models.CharField(
        _("dedupe field in the target"),
        max_length=100,
        default="FTHIRDBILLNO",
        help_text=_("Carries the source key, so an existing bill is found instead of written twice."),
    )
    batch_size = models.PositiveSmallIntegerField(
        _("batch size"), default=50, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )

    schedule_kind = models.CharField(
        _("schedule"), max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.INTERVAL
    )
    interval_minutes = models.PositiveIntegerField(
        _("interval (minutes)"), default=30, validators=[MinValueValidator(1)]
    )
    cron = models.CharField(_("cron expression"), max_length=100, blank=True, help_text=_("e.g. 10 * * * *"))
    event_trigger = models.BooleanField(
        _("run on DingTalk events"), default=False, help_text=_("The schedule stays on as the safety net.")
    )
    start_from = models.DateTimeField(
        _("read records from"), null=True, blank=True, help_text=_("Where the first run starts; empty: 30 days ago.")
    )
    cursor = models.DateTimeField(_("read up to"), null=True, blank=True, editable=False)

    writeback = models.BooleanField(
        _("notify the originator"),
        default=False,
        help_text=_("After each batch, a DingTalk work notification names the Kingdee bill (costs API quota)."),
    )
    writeback_template = models.CharField(
        _("notification text"),
        max_length=500,
        blank=True,
        default="您的「{title}」已生成金蝶付款单 {bill_number}。",
        help_text=_("Placeholders: {title}, {business_id}, {bill_number} and any source field."),
    )

    alert_connection = models.ForeignKey(
        Connection, models.SET_NULL, null=True, blank=True, related_name="alert_schemes",
        limit_choices_to={"kind": "dingtalk_robot"}, verbose_name=_("alert robot"),
        help_text=_("A DingTalk group robot told about failed records, failing runs and a stopped worker."),
    )
    alert_after_failed_runs = models.PositiveSmallIntegerField(
        _("alert after failed runs in a row"), default=3, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    alert_window_minutes = models.PositiveIntegerField(
        _("at most one alert every (minutes)"), default=60, validators=[MinValueValidator(1)],
        help_text=_("Further alerts of the scheme within this time are counted, not sent."),
    )

    reconcile_daily = models.BooleanField(
        _("push the daily reconciliation"), default=False,
        help_text=_("Every day at the hour beside it, the last 7 days are compared (approved in DingTalk, booked in "
                    "Kingdee) and sent to the alert robot, only when a day differs. Bill and voucher schemes only."),
    )
    reconcile_hour = models.PositiveSmallIntegerField(
        _("at (hour, 0–23)"), default=9, validators=[MaxValueValidator(23)]
    )

    schedule = models.OneToOneField(
        "django_q.Schedule", models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("integration scheme")
        verbose_name_plural = _("integration schemes")
        ordering = ["name"]
        permissions = [("run_scheme", _("Can run, backfill and preview a scheme"))]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.schedule_kind == self.ScheduleKind.CRON and not croniter.is_valid(self.cron or ""):
            errors["cron"] = _("Enter a valid cron expression, e.g. “10 * * * *”.")
        for side in ("source", "target"):
            kind = getattr(self, f"{side}_kind")
            params = getattr(self, f"{side}_params")
            connection = getattr(self, f"{side}_connection", None) if getattr(self, f"{side}_connection_id") else None
            errors.update(adapters.check_settings(side, kind, params, connection))
        if errors:
            raise ValidationError(errors)

    @property
    def data_centre(self):
        """Which Kingdee data centre runs use: DataCentre.TEST, PRODUCTION, or "" without Kingdee."""
        kingdee = [c for c in (self.source_connection, self.target_connection) if c.kind == Connection.Kind.KINGDEE]
        if not kingdee:
            return ""
        rehearsing = self.rehearsal and any(connection.test_acct_id for connection in kingdee)
        return DataCentre.TEST if rehearsing else DataCentre.PRODUCTION

    def initial_since(self):
        return self.start_from or timezone.now() - timedelta(days=30)

    def rows(self):
        return [mapping_row.as_row() for mapping_row in self.mappings.all()]

    def value_map_dicts(self):
        maps = {value_map.name: {} for value_map in self.value_maps.all()}
        for name, source, target in ValueMapEntry.objects.filter(value_map__scheme=self).values_list(
            "value_map__name", "source_value", "target_value"
        ):
            maps[name][source] = target
        return maps

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self.sync_schedule()
        self.sync_reconciliation_schedule()

    def delete(self, *args, **kwargs):
        from django_q.models import Schedule

        schedule, name = self.schedule, self.reconciliation_schedule_name
        result = super().delete(*args, **kwargs)
        if schedule is not None:
            schedule.delete()
        Schedule.objects.filter(name=name).delete()
        return result

    @property
    def reconciliation_schedule_name(self):
        return f"integrations.reconciliation.{self.pk}"

    def sync_reconciliation_schedule(self):
        """Keep the daily reconciliation's django-q2 schedule in step (integrations/reconciliation.py): none when it
        is off, the scheme is disabled, it has no alert robot or its target carries no amounts."""
        from django_q.models import Schedule

        wanted = (self.enabled and self.reconcile_daily and self.alert_connection_id
                  and self.target_kind in RECONCILED_KINDS)
        if not wanted:
            Schedule.objects.filter(name=self.reconciliation_schedule_name).delete()
            return None
        cron = f"0 {self.reconcile_hour} * * *"
        schedule = Schedule.objects.filter(name=self.reconciliation_schedule_name).first() or Schedule(
            name=self.reconciliation_schedule_name)
        retimed = schedule.pk is None or schedule.cron != cron
        schedule.func, schedule.args = RECONCILE_TASK, repr(self.pk)
        schedule.kwargs = repr({"q_options": {"task_name": f"scheme {self.pk} daily reconciliation",
                                              "group": f"reconciliation-{self.pk}"}})
        schedule.schedule_type, schedule.cron, schedule.repeats = Schedule.CRON, cron, -1
        if retimed:
            schedule.next_run = schedule.calculate_next_run(timezone.now())
        schedule.save()
        return schedule

    def sync_schedule(self):
        """Keep the django-q2 Schedule that triggers this scheme in step with its settings."""
        from django_q.models import Schedule

        wanted = self.enabled and self.schedule_kind != self.ScheduleKind.MANUAL
        if not wanted:
            if self.schedule_id:
                Schedule.objects.filter(pk=self.schedule_id).delete()
                type(self).objects.filter(pk=self.pk).update(schedule=None)
                self.schedule = None
            return
        fields = {
            "name": f"integrations.scheme.{self.pk}",
            "func": SCHEDULE_TASK,
            "args": repr(self.pk),
            "kwargs": repr({"q_options": {"task_name": f"scheme {self.pk} scheduled run",
                                          "group": f"scheme-{self.pk}"}}),
            "schedule_type": Schedule.CRON if self.schedule_kind == self.ScheduleKind.CRON else Schedule.MINUTES,
            "minutes": self.interval_minutes if self.schedule_kind == self.ScheduleKind.INTERVAL else None,
            "cron": self.cron if self.schedule_kind == self.ScheduleKind.CRON else None,
            "repeats": -1,
        }
        schedule = Schedule.objects.filter(pk=self.schedule_id).first() if self.schedule_id else None
        if schedule is None:
            schedule = Schedule(**fields, next_run=timezone.now())
            if schedule.schedule_type == Schedule.CRON:
                schedule.next_run = schedule.calculate_next_run()
            schedule.save()
            type(self).objects.filter(pk=self.pk).update(schedule=schedule)
            self.schedule = schedule
            return
        timing = ("schedule_type", "minutes", "cron")
        retimed = any(getattr(schedule, name) != fields[name] for name in timing)
        for name, value in fields.items():
            setattr(schedule, name, value)
        if retimed:
            schedule.next_run = schedule.calculate_next_run(timezone.now())
        schedule.save()


class SchemeConnection(ForwardManyToOneDescriptor):
    """A scheme's connection as the scheme uses it: told whether the scheme is in rehearsal, so that
    `client_for(scheme.target_connection)` opens the test data centre without the engine knowing."""

    def __get__(self, instance, cls=None):
        connection = super().__get__(instance, cls)
        if instance is not None and connection is not None:
            connection.in_rehearsal = instance.rehearsal
        return connection


for _name in ("source_connection", "target_connection"):
    setattr(Scheme, _name, SchemeConnection(Scheme._meta.get_field(_name)))


class FieldMapping(models.Model):
    """One mapping row: target field ← source path through a transform."""

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="mappings", verbose_name=_("scheme"))
    position = models.PositiveIntegerField(_("order"), default=0)
    target = models.CharField(_("target field"), max_length=200, help_text=_("e.g. FDATE or FPAYBILLENTRY[].FCOSTID"))
    source = models.CharField(
        _("source path"), max_length=200, blank=True, help_text=_("e.g. finish_time, 报销事由 or 报销明细[].报销金额(元)")
    )
    transform = models.CharField(_("transform"), max_length=20, default="copy",
                                 choices=[(name, _(label)) for name, label in mapping.transform_choices()])
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    required = models.BooleanField(_("required"), default=False)
    default = models.CharField(_("default"), max_length=200, blank=True, help_text=_("Used when the source is empty."))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("field mapping")
        verbose_name_plural = _("field mappings")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["scheme", "target"], name="one_mapping_per_target")]

    def __str__(self):
        return f"{self.target} ← {self.source or self.get_transform_display()}"

    def as_row(self):
        return mapping.Row(self.target, self.source, self.transform, self.params or {}, self.required, self.default)

    def clean(self):
        errors = {}
        for name, problem in mapping.check_row(self.as_row()):
            errors.setdefault(name, []).append(problem.render(gettext))
        map_name = (self.params or {}).get("map") if isinstance(self.params, dict) else None
        if self.transform == "value_map" and map_name and self.scheme_id:
            if not ValueMap.objects.filter(scheme_id=self.scheme_id, name=map_name).exists():
                errors.setdefault("params", []).append(
                    gettext("This scheme has no value map named “%(map)s”.") % {"map": map_name}
                )
        if errors:
            raise ValidationError(errors)


class ValueMap(models.Model):
    """A named dictionary for the value_map transform (e.g. 费用明细 → Kingdee expense item number)."""

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="value_maps", verbose_name=_("scheme"))
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("value map")
        verbose_name_plural = _("value maps")
        ordering = ["scheme", "name"]
        constraints = [models.UniqueConstraint(fields=["scheme", "name"], name="value_map_name_per_scheme")]

    def __str__(self):
        return self.name


class ValueMapEntry(models.Model):
    value_map = models.ForeignKey(ValueMap, models.CASCADE, related_name="entries", verbose_name=_("value map"))
    source_value = models.CharField(_("source value"), max_length=200)
    target_value = models.CharField(_("target value"), max_length=200)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("value map entry")
        verbose_name_plural = _("value map entries")
        ordering = ["value_map", "source_value"]
        constraints = [
            models.UniqueConstraint(fields=["value_map", "source_value"], name="one_entry_per_source_value")
        ]

    def __str__(self):
        return f"{self.source_value} → {self.target_value}"
