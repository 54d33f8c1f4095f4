"""The remembered seed (tests/seed_memo.py) gives the same sandbox as a real one: every row of every sandbox
table, ids included, but for the times Django sets on save."""

import pytest
from django.core.management import call_command

from tests.seed_memo import _kept, sandbox_models

pytestmark = pytest.mark.django_db(transaction=True)


def sandbox_rows():
    return {model._meta.label: [
        {field.attname: getattr(row, field.attname) for field in model._meta.concrete_fields
         if not (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))}
        for row in model._base_manager.order_by("pk")] for model in sandbox_models()}


def empty_sandbox():
    for model in reversed(sandbox_models()):
        model._base_manager.all().delete()


def test_a_remembered_seed_writes_the_rows_a_real_seed_writes():
    _kept.clear()
    call_command("sandbox_seed", instances=8, json=True)  # a real seed, remembered
    real = sandbox_rows()
    assert _kept and sum(map(len, real.values())) > 500
    empty_sandbox()
    call_command("sandbox_seed", instances=8, json=True)  # from memory
    assert sandbox_rows() == real
