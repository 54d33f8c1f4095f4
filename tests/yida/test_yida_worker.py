"""The sales-order template's every-minute schedule in a real `qcluster`: seeded instances become orders on the
first scheduled run; an instance created and one changed through the door are booked by the next one, once each."""

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler

from integrations.models import SyncRecord, SyncRun
from tests.events.processes import cluster as start_cluster
from tests.integrations.live import wait_for
from tests.yida.conftest import bills
from tests.yida.test_yida_flow import instances

pytestmark = pytest.mark.django_db(transaction=True)


def finished_runs(scheme, count, cluster, timeout=150):
    def done():
        runs = list(SyncRun.objects.filter(scheme=scheme).exclude(status=SyncRun.Status.RUNNING).order_by("pk"))
        return runs if len(runs) >= count else None

    try:
        return wait_for(done, timeout=timeout, message=f"{count} finished runs")
    except AssertionError:
        print(cluster.output()[-5000:])
        raise


def next_minute_now(scheme):
    """The schedule's next minute, come now: its next run is due, and django-q's scheduler pass (which the cluster
    makes every 30 s) enqueues it for the cluster's worker at once rather than up to a minute and a half later."""
    Schedule.objects.filter(pk=scheme.schedule_id).update(next_run=timezone.now())
    scheduler(broker=get_broker())


def test_the_schedule_books_new_and_changed_instances_once_each(world):
    scheme = world.yida_scheme("sale", scheduled=True)
    assert (scheme.schedule_kind, scheme.interval_minutes, scheme.schedule is not None) == ("interval", 1, True)
    cluster = start_cluster(workers=1)
    try:
        [first] = finished_runs(scheme, 1, cluster)
        assert first.status == SyncRun.Status.SUCCEEDED, first.error
        seeded = instances(world, "sale")
        assert all(len(bills("SAL_SaleOrder")[i.form_instance_id]) == 1 for i in seeded)

        changed = seeded[0]
        world.yida("sale", {"订单明细": [{"物料编码": "1.02.003", "数量": 2, "含税单价": 1890, "税率(%)": 13}]},
                   instance_id=changed.form_instance_id)
        new = world.yida("sale", {"客户编码": "CUST0005", "订单日期": 1764100000000, "销售员": [changed.originator],
                                  "订单明细": [{"物料编码": "2.01.003", "数量": 100, "含税单价": 12, "税率(%)": 13}]})
        next_minute_now(scheme)
        runs = finished_runs(scheme, 2, cluster)
    finally:
        cluster.stop()

    assert runs[1].status == SyncRun.Status.SUCCEEDED, runs[1].error
    found = bills("SAL_SaleOrder")
    assert all(len(rows) == 1 for key, rows in found.items() if key)
    assert [(e["FMaterialId"]["FNumber"], e["FQty"]) for e in found[changed.form_instance_id][0].model[
        "FSaleOrderEntry"]] == [("1.02.003", 2)]
    assert found[new["formInstanceId"]][0].model["FCustId"]["FNumber"] == "CUST0005"
    assert SyncRecord.objects.filter(scheme=scheme, status=SyncRecord.Status.SUCCEEDED).count() == len(seeded) + 1
