"""The sandbox seed, remembered for a few minutes of the test session.

About 250 tests start from a freshly seeded sandbox (`sandbox_seed`: the roster's company, approvals, Kingdee base
data and trade bills, some 2,500 queries and 3 s of CPU). Into empty sandbox tables the seed always writes the
same rows for the same options and day, so the first seed's rows are kept and the next ones are bulk-inserted
from them. Only the tables the seed fills count: a fault setting saved before the seed does not stop it. A seed
into tables it fills that are not empty (a test re-seeding over its own changes) runs for real, and a kept seed
older than MAX_AGE is taken again, so that the times the seed derives from "now" stay close to now.
"""

import copy
import io
import time

from django.apps import apps
from django.core.management.base import OutputWrapper
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

SANDBOX_APPS = ("sandbox_dingtalk", "sandbox_kingdee")
OPTIONS = ("seed", "employees", "instances", "days", "json")
MAX_AGE = 300

_kept = {}


def sandbox_models():
    return [model for label in SANDBOX_APPS
            for model in apps.get_app_config(label).get_models(include_auto_created=True)
            if not model._meta.proxy]  # a proxy shares its model's table


def remembering(handle):
    """`sandbox_seed`'s handle, remembering what it wrote into empty sandbox tables."""

    def remembered_handle(command, *args, **options):
        key = (tuple(options.get(name) for name in OPTIONS), timezone.localdate(), connection.vendor,
               connection.settings_dict["NAME"])
        kept = _kept.get(key)
        if kept is not None and time.monotonic() - kept["at"] <= MAX_AGE and not filled(kept["rows"]):
            restore(kept["rows"])
            command.stdout.write(kept["output"], ending="")
            return
        _kept.pop(key, None)
        before = filled(sandbox_models())
        output = seeded(handle, command, args, options)
        written = filled(sandbox_models())
        if not written & before:  # every table the seed filled was empty: what it wrote can be kept
            _kept[key] = {"rows": {model: list(model._base_manager.order_by("pk")) for model in written},
                          "output": output, "at": time.monotonic()}
        command.stdout.write(output, ending="")

    return remembered_handle


def filled(models):
    """The tables of `models` that hold rows (the seed's own, or a fault setting a fixture saved before it)."""
    return {model for model in models if model._base_manager.exists()}


def seeded(handle, command, args, options):
    shown, output = command.stdout, io.StringIO()
    command.stdout = OutputWrapper(output)
    try:
        handle(command, *args, **options)
    finally:
        command.stdout = shown
    return output.getvalue()


def restore(rows):
    models = list(rows)
    with transaction.atomic():  # foreign keys are checked at the commit, whatever the order of the tables
        for model in models:
            copies = [copy.copy(row) for row in rows[model]]
            for row in copies:
                row._state = copy.copy(row._state)
                row._state.adding = True
            model._base_manager.bulk_create(copies, batch_size=500)
        with connection.cursor() as cursor:  # PostgreSQL's sequences do not follow explicit ids
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)
