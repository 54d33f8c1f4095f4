from django.db import models
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from integrations.models.connections import Connection


class TargetLock(models.Model):
    """One Kingdee form of one connection, held by one run at a time while it searches for and writes bills,
    when several schemes book into that form: two schemes reading the same approvals then never both find
    nothing and both write (never twice, across schemes). Held by a lease, so a dead worker's turn expires."""

    connection = models.ForeignKey(Connection, models.CASCADE, related_name="+", verbose_name=_("connection"))
    form_id = models.CharField(pgettext_lazy("Kingdee form of a target lock", "form"), max_length=100)
    holder = models.CharField(_("held by"), max_length=32, blank=True)
    expires_at = models.DateTimeField(_("held until"), null=True, blank=True)

    class Meta:
        verbose_name = _("target lock")
        verbose_name_plural = _("target locks")
        constraints = [models.UniqueConstraint(fields=["connection", "form_id"], name="one_lock_per_target_form")]

    def __str__(self):
        return f"{self.connection} {self.form_id}"
