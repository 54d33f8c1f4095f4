"""Worker doorways for identity-map imports: take an id, call `identity_import`, return a summary."""

import logging

from django.db import transaction
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from sso import identity_import
from sso.identity_file import UnreadableFile
from sso.models import IdentityImport

logger = logging.getLogger(__name__)
Status = IdentityImport.Status


def check_identity_import(import_id):
    job = IdentityImport.objects.get(pk=import_id)
    identity_import.check(job)
    return f"{job.file_name}: {job.status}, {job.total_rows} rows, {job.bad_count} bad"


def apply_identity_import(import_id):
    if not identity_import.claim(import_id, Status.QUEUED, Status.IMPORTING):
        return f"import {import_id} was not queued"
    job = IdentityImport.objects.get(pk=import_id)
    try:
        identity_import.apply(job)
    except (identity_import.ImportStopped, UnreadableFile) as exc:
        identity_import.finish(job, Status.FAILED, error=str(exc))
    except Exception:
        logger.exception("identity import %s stopped", import_id)
        identity_import.finish(
            job, Status.FAILED, error=_("Stopped by an unexpected error. Nothing is lost: import the file again.")
        )
        raise
    else:
        identity_import.finish(job, Status.DONE)
    return f"{job.file_name}: {job.status}, {job.processed_rows} of {job.total_rows} rows"


def enqueue_check(job):
    transaction.on_commit(
        lambda: async_task(check_identity_import, job.pk, task_name=f"identity-import-{job.pk}-check", group="sso")
    )


def enqueue_apply(job):
    transaction.on_commit(
        lambda: async_task(apply_identity_import, job.pk, task_name=f"identity-import-{job.pk}-apply", group="sso")
    )
