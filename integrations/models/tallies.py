from django.db import models
from django.utils.translation import gettext_lazy as _

HOUR = 3600


class RecordTally(models.Model):
    """Ledger records per scheme, hour of their last update, status and booking path, as signed counts that
    add up: the dashboard reads these instead of grouping a million ledger rows.

    Database triggers on the ledger (migration 0008) append +1 for a record's new bucket and -1 for its old
    one whenever a record is created, deleted, or changes status, booking path or hour, so every writer (the
    engine's conditional UPDATEs, admin actions, bulk inserts) is counted without calling anything.
    `dashboard.compact` folds the rows into one per bucket, a past local day into the hour it starts in. `scheme_id` is a plain number: a deleted scheme's records are
    subtracted after the scheme is gone."""

    scheme_id = models.IntegerField()
    hour = models.IntegerField(_("hour"), help_text=_("Hours since 1970-01-01 00:00 UTC."))
    status = models.CharField(max_length=10)
    booked_via = models.CharField(max_length=10, blank=True, default="")
    n = models.IntegerField()

    class Meta:
        verbose_name = _("record tally")
        indexes = [models.Index(fields=["hour"], name="tally_hour")]
