"""Scheduled reports and stock alerts from Kingdee to DingTalk, their runs and the alerts' memory."""

from croniter import croniter
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_q.models import Schedule

from integrations.adapters.messages import check_template
from integrations.models.connections import Connection

SCHEDULE_TASK = "integrations.reports.tasks.run_scheduled_report"
QUERY_KINDS = ("query", "stock_levels")


def check_spec(spec):
    """Problems with one query spec, as plain English phrases for a SpecError."""
    if not isinstance(spec, dict):
        return ["each query must be a JSON object"]
    problems = []
    if not str(spec.get("name") or "").isidentifier():
        problems.append("“name” must be a word (letters, digits, _)")
    kind = spec.get("kind", "query")
    if kind not in QUERY_KINDS:
        problems.append(f"“kind” must be one of {', '.join(QUERY_KINDS)}")
    if kind == "query":
        fields = spec.get("fields")
        if not spec.get("form") or not isinstance(fields, dict) or not fields:
            problems.append("a query needs “form” and “fields” ({alias: field key})")
            return problems
        aliases = set(fields) | set(ageing_columns(spec))
        used = list(spec.get("group_by") or []) + list(spec.get("sum") or [])
        used += [str(spec.get("order") or "").lstrip("-")] if spec.get("order") else []
        used += [name for name in (spec.get("ageing") or {}).values() if isinstance(name, str)]
        problems += [f"“{alias}” is not one of the query's fields" for alias in used if alias not in aliases]
    return problems


def ageing_columns(spec):
    edges = (spec.get("ageing") or {}).get("edges") or []
    if not edges:
        return []
    names = [f"age_0_{edges[0]}"] + [f"age_{low + 1}_{high}" for low, high in zip(edges, edges[1:])]
    return names + [f"age_over_{edges[-1]}"]


class Report(models.Model):
    class Kind(models.TextChoices):
        REPORT = "report", _("report")
        STOCK_ALERT = "stock_alert", _("stock alert")

    class MessageType(models.TextChoices):
        MARKDOWN = "markdown", _("markdown")
        ACTION_CARD = "action_card", _("action card")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REPORT)
    enabled = models.BooleanField(_("enabled"), default=True)
    kingdee = models.ForeignKey(Connection, models.PROTECT, related_name="+", verbose_name=_("Kingdee connection"),
                                limit_choices_to={"kind": "kingdee"})
    queries = models.JSONField(
        _("queries"), default=list, blank=True,
        help_text=_("A list of queries: name, form, fields {alias: field key}, filter, group_by, sum, order, limit."))
    options = models.JSONField(
        _("alert options"), default=dict, blank=True,
        help_text=_("Stock alerts: orgs, warehouses (lists of numbers), per_org (true/false), notify_buyer."))
    msgtype = models.CharField(_("message type"), max_length=20, choices=MessageType.choices,
                               default=MessageType.MARKDOWN)
    title = models.CharField(_("title template"), max_length=200)
    template = models.TextField(_("text template"), help_text=_("Django template language; preview before saving."))
    button_title = models.CharField(_("button title"), max_length=40, blank=True)
    button_url = models.CharField(_("button link template"), max_length=300, blank=True)
    robots = models.ManyToManyField(Connection, blank=True, related_name="+", verbose_name=_("group robots"),
                                    limit_choices_to={"kind": "dingtalk_robot"})
    notice_connection = models.ForeignKey(
        Connection, models.PROTECT, null=True, blank=True, related_name="+", limit_choices_to={"kind": "dingtalk"},
        verbose_name=_("DingTalk app for work notices"))
    notice_userids = models.CharField(_("work notice recipients (userids)"), max_length=2000, blank=True)
    cron = models.CharField(_("cron schedule"), max_length=100, blank=True, help_text=_("e.g. 0 8 * * * (08:00 daily)"))
    schedule = models.OneToOneField(Schedule, models.SET_NULL, null=True, blank=True, editable=False,
                                    related_name="+")
    running_since = models.DateTimeField(null=True, blank=True, editable=False)
    template_slug = models.CharField(_("made from template"), max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("report or alert")
        verbose_name_plural = _("reports and alerts")
        ordering = ["name"]
        permissions = [("run_report", _("Can run, preview and retry reports and alerts"))]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        if self.cron and not croniter.is_valid(self.cron):
            errors["cron"] = _("Enter a valid cron expression, e.g. “0 8 * * *”.")
        problems = [problem for spec in (self.queries if isinstance(self.queries, list) else [None])
                    for problem in check_spec(spec)]
        if problems:
            errors["queries"] = _("The queries are not valid: %(problems)s") % {"problems": "; ".join(problems)}
        for name in ("title", "template", "button_url"):
            if check_template(getattr(self, name)):
                errors[name] = check_template(getattr(self, name))[0]
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        transaction.on_commit(self.sync_schedule)

    def sync_schedule(self):
        """One django-q cron Schedule while enabled with a cron expression, none otherwise."""
        wanted = self.enabled and self.cron and croniter.is_valid(self.cron)
        schedule = Schedule.objects.filter(pk=self.schedule_id).first() if self.schedule_id else None
        if not wanted:
            if schedule:
                schedule.delete()
            return
        if schedule is None:
            schedule = Schedule(func=SCHEDULE_TASK, args=repr(self.pk), schedule_type=Schedule.CRON,
                                name=f"report {self.pk}", repeats=-1)
        if schedule.cron != self.cron or schedule.pk is None:
            schedule.cron, schedule.next_run = self.cron, timezone.now()
            schedule.next_run = schedule.calculate_next_run()
            schedule.save()
            type(self).objects.filter(pk=self.pk).update(schedule=schedule)

    @property
    def notice_recipients(self):
        return [userid.strip() for userid in self.notice_userids.replace("，", ",").split(",") if userid.strip()]


class ReportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("sent")
        PARTIAL = "partial", _("partly sent")
        FAILED = "failed", _("failed")
        NOTHING = "nothing", _("nothing to send")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("schedule")
        MANUAL = "manual", _("manual")
        RETRY = "retry", _("retry")

    report = models.ForeignKey(Report, models.CASCADE, related_name="runs", verbose_name=_("report or alert"))
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    tables = models.JSONField(_("tables"), default=dict, blank=True)
    # [{"channel", "connection", "to", "key", "message": {…}, "ok", "error", "sent_at"}]
    messages = models.JSONField(_("messages"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("report run")
        verbose_name_plural = _("report runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.report} {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"

    @property
    def sent(self):
        return sum(1 for message in self.messages if message.get("ok"))

    @property
    def failed(self):
        return sum(1 for message in self.messages if not message.get("ok"))


class AlertState(models.Model):
    """What the alert last said about one material (and organisation), so it says it once a day and
    says "recovered" once."""

    report = models.ForeignKey(Report, models.CASCADE, related_name="states")
    key = models.CharField(max_length=120)
    low = models.BooleanField(default=False)
    low_since = models.DateField(null=True, blank=True)
    last_alert_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "key"], name="reports_alert_state_unique")]

