"""The mapping preview of each new template reads one real record from the sandbox and maps it without errors."""

import pytest

from integrations import engine
from tests.yida.conftest import ATTENDANCE, TEMPLATES

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_yida_template_previews_a_seeded_instance(world):
    for key, entity in (("sale", "FSaleOrderEntry"), ("receipt", "FInStockEntry"), ("transfer", "FBillEntry")):
        result = engine.preview(world.yida_scheme(key))
        assert not result.error and not result.errors, (TEMPLATES[key], result.error, result.errors)
        assert result.key.startswith("FINST-") and result.payload[entity]
        assert result.payload["F_PORTAL_SourceId"] == result.key


def test_the_attendance_template_previews_an_employees_month(world):
    scheme = world.scheme(ATTENDANCE)
    result = engine.preview(scheme)
    assert not result.error and not result.errors, (result.error, result.errors)
    userid, _at, month = result.key.rpartition("@")
    assert userid and result.payload["FPeriod"] == month and result.payload["FLeaveEntity"]
