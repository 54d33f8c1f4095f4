"""Never twice, across schemes running at the same moment: schemes sharing a Kingdee form take turns to search
and write, so both cannot find nothing and both write."""

import threading
import time

import pytest
from django.db import connections

from integrations import engine, market
from integrations.models import TargetLock, ValueMap, ValueMapEntry
from tests.integrations.fakes import PROCESS_CODE, claim
from tests.integrations.test_engine import recent

pytestmark = pytest.mark.django_db(transaction=True)


def copy_of(scheme):
    copy = market.create_scheme(market.DEFAULT, source_connection=scheme.source_connection, name=f"{scheme.name}（副本）",
                                target_connection=scheme.target_connection, process_code=PROCESS_CODE, batch_size=10)
    departments = ValueMap.objects.get(scheme=copy, name="钉钉部门→金蝶部门")
    ValueMapEntry.objects.create(value_map=departments, source_value="582976341", target_value="BM000003")
    return copy


def run_together(*schemes):
    def run(pk):
        try:
            engine.run_scheme(pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(scheme.pk,)) for scheme in schemes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_two_schemes_running_at_the_same_moment_book_each_claim_once(scheme, remote):
    copy = copy_of(scheme)
    remote.dingtalk.add(*(claim(f"k{n}", created=recent(10 - n)) for n in range(6)))
    remote.kingdee.on_batch = lambda models: time.sleep(0.5)  # both runs search while the first still writes

    run_together(scheme, copy)

    assert sorted(bill["model"]["FTHIRDBILLNO"] for bill in remote.kingdee.bills) == [f"k{n}" for n in range(6)]
    assert set(TargetLock.objects.values_list("holder", flat=True)) == {""}  # every turn was given back


def test_a_scheme_alone_on_its_form_takes_no_turns(scheme, remote):
    remote.dingtalk.add(claim("solo", created=recent(3)))

    engine.run_scheme(scheme.pk)

    assert len(remote.kingdee.bills) == 1 and not TargetLock.objects.exists()
