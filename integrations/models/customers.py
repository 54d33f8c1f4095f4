"""Two-way customer sync: the signed master rule per field, and the log of what the sync wrote.

A `MasterRule` row is one decision: which side owns a field (DingTalk, Kingdee, or the newest change), who
decided and when. Rows are never changed: a new decision is a new row, so the history is the table itself and
the current rule of a field is its latest row. The rules in force are also kept in the scheme's target
settings (`master_rules`), so they are versioned, exported and restored with the scheme.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.models.schemes import Scheme


class MasterRule(models.Model):
    class Master(models.TextChoices):
        DINGTALK = "dingtalk", _("DingTalk is master")
        KINGDEE = "kingdee", _("Kingdee is master")
        NEWEST = "newest", _("newest change wins")

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="master_rules", verbose_name=_("scheme"))
    field = models.CharField(_("field"), max_length=100)
    label = models.CharField(_("field name"), max_length=100, blank=True)
    master = models.CharField(_("master"), max_length=10, choices=Master.choices)
    previous = models.CharField(_("previous master"), max_length=10, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("master rule decision")
        verbose_name_plural = _("master rule decisions")
        ordering = ["-decided_at", "-id"]
        permissions = [("decide_masterrule", _("Can decide the master rule of a field"))]

    def __str__(self):
        return f"{self.scheme_id} {self.field} → {self.master}"


class FieldChange(models.Model):
    """One field the two-way sync wrote on one side, or held for a person; `kind` says why."""

    class Kind(models.TextChoices):
        PUSH = "push", _("copied to the other side")
        PUT_BACK = "put_back", _("put back: changed on the side that is not master")
        QUEUED = "queued", _("held for a person: changed on the side that is not master")
        CREATE = "create", _("created on the other side")
        FORBID = "forbid", _("forbidden in Kingdee: removed in DingTalk")
        FLAG = "flag", _("flagged in DingTalk: forbidden or removed in Kingdee")

    scheme = models.ForeignKey(Scheme, models.CASCADE, related_name="field_changes", verbose_name=_("scheme"))
    run = models.ForeignKey("integrations.SyncRun", models.SET_NULL, null=True, blank=True, related_name="+",
                            verbose_name=_("run"))
    source_key = models.CharField(_("DingTalk customer"), max_length=128, blank=True)
    number = models.CharField(_("Kingdee number"), max_length=64, blank=True)
    title = models.CharField(_("customer"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    side = models.CharField(_("written in"), max_length=10, blank=True)
    field = models.CharField(_("field"), max_length=100, blank=True)
    before = models.TextField(_("before"), blank=True)
    after = models.TextField(_("after"), blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("customer field change")
        verbose_name_plural = _("customer field changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["scheme", "kind"], name="fieldchange_scheme_kind")]
