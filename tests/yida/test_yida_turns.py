"""Never twice across schemes for Yida forms too: two schemes made from the same template (a renamed copy) and
running at the same moment take turns on the Kingdee form, so each instance gets one sales order."""

import pytest

from integrations.models import TargetLock
from tests.integrations.live import sandbox_faults
from tests.integrations.test_engine_turns import run_together
from tests.yida.conftest import FORMS, bills

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_schemes_on_one_yida_form_running_together_make_one_bill_per_instance(world):
    first = world.yida_scheme("sale")
    first.name += "（原方案）"  # names are unique: the copy takes the template's name
    first.save()
    copy = world.yida_scheme("sale")
    sandbox_faults(world.base_url, "kingdee", latency_ms=400)  # both runs search while the other still writes

    run_together(first, copy)

    found = bills(FORMS["sale"])
    assert found and all(len(orders) == 1 for orders in found.values()), {k: len(v) for k, v in found.items()}
    assert set(TargetLock.objects.values_list("holder", flat=True)) == {""}  # every turn was given back
