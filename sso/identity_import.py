"""Check and apply an uploaded identity-map file; both run in the worker (see `sso.tasks`).

Applying writes in chunks, each its own short transaction, so that a 50,000-row file
never holds the database write lock for the length of the import. Nothing is written
unless the whole file passed the check; a file that stops half way (worker killed) can
simply be applied again, since unchanged rows are skipped.
"""

import logging
from datetime import timedelta

import tablib
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from sso import identity_file
from sso.models import IdentityImport, IdentityMap, only_dingtalk_organisation
from sso.resources import IdentityMapResource

logger = logging.getLogger(__name__)

CHUNK = 2000
# A job that shows no sign of its worker for this long lost it (killed, out of memory, restarted).
STALLED_AFTER = {"checking": timedelta(minutes=10), "importing": timedelta(minutes=5)}


class ImportStopped(Exception):
    """The import library refused rows the check had accepted; the message names them."""


def load(job):
    """The checked file; raises identity_file.UnreadableFile."""
    return identity_file.read(bytes(job.content), job.file_name)


def organisation(job):
    """The DingTalk connection whose map the job imports into (chosen at upload; else the only one)."""
    return job.dingtalk or only_dingtalk_organisation()


def check(job):
    """Fill in the job's counts, bad rows and corrections; the status tells whether it may be applied."""
    beat(job)
    try:
        checked = load(job)
    except identity_file.UnreadableFile as exc:
        return finish(job, IdentityImport.Status.INVALID, error=str(exc))
    (new, changed, unchanged), job.changes = count_changes(checked, organisation(job))
    job.total_rows, job.new_rows, job.changed_rows, job.unchanged_rows = checked.total, new, changed, unchanged
    job.bad_count = len(checked.bad_rows)
    job.bad_rows = [list(bad) for bad in checked.bad_rows[: IdentityImport.BAD_ROWS_KEPT]]
    job.normalised_count = len(checked.normalised)
    job.normalised_rows = [list(row) for row in checked.normalised[: IdentityImport.BAD_ROWS_KEPT]]
    status = IdentityImport.Status.INVALID if checked.bad_rows or not checked.rows else IdentityImport.Status.READY
    if not checked.total:
        job.error = _("The file has no rows below the header.")
    finish(job, status, finished=False)


def classify(checked, organisation):
    """Yield ("new" | "changed" | "unchanged", (row number, clean row)) against the organisation's map as it is."""
    for kind, row, _current in compare(checked, organisation):
        yield kind, row


def compare(checked, organisation):
    """classify, with the mapping's current values in the file's column order (None for a new row)."""
    fields = [identity_file.COLUMNS[h] for h in checked.headers]
    for start in range(0, len(checked.rows), CHUNK):
        chunk = checked.rows[start : start + CHUNK]
        existing = {
            values[0]: values[1:]
            for values in IdentityMap.objects.of(organisation).filter(
                dingtalk_userid__in=[clean[identity_file.USERID] for _number, clean in chunk]
            ).values_list("dingtalk_userid", *fields)
        }
        for number, clean in chunk:
            current = existing.get(clean[identity_file.USERID])
            if current is None:
                yield "new", (number, clean), None
            else:
                kind = "unchanged" if current == tuple(clean[h] for h in checked.headers) else "changed"
                yield kind, (number, clean), current


def count_changes(checked, organisation):
    """((new, changed, unchanged), the first rows that change, each with its changes field by field)."""
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    changes = []
    for kind, (number, clean), current in compare(checked, organisation):
        counts[kind] += 1
        if kind != "unchanged" and len(changes) < IdentityImport.CHANGES_KEPT:
            changes.append(described(kind, number, clean, checked.headers, current))
    return (counts["new"], counts["changed"], counts["unchanged"]), changes


def described(kind, number, clean, headers, current):
    """{"row", "userid", "name", "new", "fields": [[column, before, after]…]} in words a person reads."""
    before = dict(zip(headers, current)) if current is not None else {}
    fields = [[header, shown(before.get(header)), shown(clean[header])] for header in headers
              if header != identity_file.USERID and (kind == "new" or before.get(header) != clean[header])]
    return {"row": number, "userid": clean[identity_file.USERID], "name": clean.get(identity_file.NAME, ""),
            "new": kind == "new", "fields": fields}


def shown(value):
    if isinstance(value, bool):
        return "是" if value else "否"
    return "" if value is None else str(value)


def apply(job):
    """Write a checked, confirmed file, chunk by chunk, recording progress on the job.

    Rows already as the file says are counted as done without passing through the import
    library (it would skip them too, at a tenth of the speed): re-importing a file is quick.
    """
    beat(job)
    checked = load(job)
    if checked.bad_rows:
        raise ImportStopped(_("The file now has bad rows; upload it again."))
    resource = IdentityMapResource(organisation=organisation(job))
    to_write, unchanged = [], 0
    for kind, row in classify(checked, resource.organisation):
        if kind == "unchanged":
            unchanged += 1
        else:
            to_write.append(row)
    progress(job, unchanged)
    for start in range(0, len(to_write), CHUNK):
        rows = to_write[start : start + CHUNK]
        dataset = tablib.Dataset(*[[clean[h] for h in checked.headers] for _n, clean in rows], headers=checked.headers)
        result = resource.import_data(dataset, dry_run=False, use_transactions=True)
        refused = refused_rows(result, rows)
        if refused:
            raise ImportStopped(refused)
        progress(job, len(rows))
    job.refresh_from_db(fields=["processed_rows"])


def progress(job, rows):
    IdentityImport.objects.filter(pk=job.pk).update(processed_rows=F("processed_rows") + rows,
                                                    heartbeat_at=timezone.now())


def beat(job):
    job.heartbeat_at = timezone.now()
    IdentityImport.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at)


def recover_stalled():
    """Jobs whose worker died are failed with what to do next, never left "checking" or "importing": a check
    is uploaded again (the file may be what killed it), an import confirmed again (it goes on where it
    stopped, unchanged rows being skipped). Returns how many were recovered."""
    Status, now, recovered = IdentityImport.Status, timezone.now(), 0
    errors = {
        Status.CHECKING: _("The check stopped: the background worker ended (restarted, or out of memory) before it "
                           "finished. Upload the file again; if this repeats, split the file."),
        Status.IMPORTING: _("The import stopped part way: the background worker ended before it finished. Nothing "
                            "is lost: confirm the import again and it goes on where it stopped."),
    }
    for status, error in errors.items():
        since = now - STALLED_AFTER[status.value]
        quiet = IdentityImport.objects.filter(status=status, created_at__lt=since).exclude(heartbeat_at__gte=since)
        recovered += quiet.update(status=Status.FAILED, error=error, finished_at=now)
    return recovered


def refused_rows(result, rows):
    """Row numbers and messages, in the file's numbering, of what import-export refused."""
    problems = [(rows[i - 1][0], "; ".join(str(e.error) for e in errors)) for i, errors in result.row_errors()]
    problems += [(rows[r.number - 1][0], "; ".join(r.error.messages)) for r in result.invalid_rows]
    problems += [("-", str(e.error)) for e in result.base_errors]
    return "；".join(_("row %(row)s: %(reason)s") % {"row": n, "reason": m} for n, m in problems[:20])


def finish(job, status, error="", finished=True):
    """Record the outcome; a file that is done with (imported, or refused) is not kept: it holds personal data."""
    job.status = status
    if error:
        job.error = error
    if finished:
        job.finished_at = timezone.now()
    fields = [f.name for f in job._meta.concrete_fields if f.name not in ("id", "content")]
    if status in (IdentityImport.Status.DONE, IdentityImport.Status.INVALID):
        job.content = b""
        fields.append("content")
    job.save(update_fields=fields)


def claim(job_id, from_status, to_status):
    """Move a job on only if it is still where we expect it (two workers, or a double click)."""
    with transaction.atomic():
        return IdentityImport.objects.filter(pk=job_id, status=from_status).update(status=to_status) == 1
