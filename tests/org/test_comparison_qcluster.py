"""The comparison as the schedule runs it, by a real `qcluster`, with DingTalk's events switched off: the first
sync puts the org in Kingdee, a comparison with nothing changed writes nothing, and one comparison brings in a
joiner, an update, a mover, a leaver and (the next one) the leaver hired again."""

import pytest
import requests

from integrations import queue
from integrations.market.org import create_org_schemes
from integrations.models import SyncRun
from sandbox.dingtalk.models import Employee
from sso.models import IdentityMap
from tests.events.processes import cluster
from tests.integrations.live import wait_for
from tests.org.helpers import employee, post_dept
from tests.org.test_engine_sync import assert_in_step, kingdee_writes, read_everything

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    process = cluster(workers=1)  # the comparison's runs come one after the other: a second worker only idles
    yield process
    process.stop()


def compare(schemes, worker):
    """One comparison: the departments scheme's run, then the people scheme's, each queued for the cluster."""
    for scheme in schemes:
        before = SyncRun.objects.filter(scheme=scheme).values_list("pk", flat=True).order_by("-pk").first() or 0
        queue.enqueue_run(scheme)

        def finished(scheme=scheme, before=before):
            return SyncRun.objects.filter(scheme=scheme, pk__gt=before).exclude(status=SyncRun.Status.RUNNING).exists()

        try:
            wait_for(finished, timeout=120, message=f"the cluster's run of {scheme.name}")
        except AssertionError:
            print(worker.output()[-4000:])
            raise


def test_comparisons_by_the_cluster_keep_kingdee_in_step_with_events_off(world, worker):
    schemes = create_org_schemes(source_connection=world.dingtalk, target_connection=world.kingdee, events=False)
    for scheme in schemes:
        scheme.schedule_kind = scheme.ScheduleKind.MANUAL  # the test plays the schedule
        read_everything(scheme)

    compare(schemes, worker)
    assert_in_step()
    requests.delete(f"{world.base_url}/sandbox/kingdee/_calls", timeout=10)
    compare(schemes, worker)
    assert kingdee_writes(world) == []

    people = list(Employee.objects.filter(active=True).exclude(job_number="").order_by("userid")[:3])
    updated, mover, leaver = people
    dept = world.door(action="add_dept", name="数字化中心", parent_id=1)
    world.door(action="add_user", userid="cmp01", name="韩梅", job_number="XH6001", mobile="13711118888",
               dept_id_list=[dept["dept_id"]])
    world.door(action="update_user", userid=updated.userid, mobile="13722229999")
    world.door(action="update_user", userid=mover.userid, dept_id_list=[dept["dept_id"]])
    world.door(action="leave", userid=leaver.userid)
    compare(schemes, worker)

    assert_in_step()
    assert employee("XH6001") is not None and post_dept(employee("XH6001")) == f"DT{dept['dept_id']}"
    assert employee(updated.job_number).model["FMobile"] == "13722229999"
    assert post_dept(employee(mover.job_number)) == f"DT{dept['dept_id']}"
    assert employee(leaver.job_number).forbidden

    world.door(action="add_user", userid=leaver.userid, name=leaver.name, job_number=leaver.job_number,
               mobile=leaver.mobile, dept_id_list=[dept["dept_id"]])
    compare(schemes, worker)
    assert not employee(leaver.job_number).forbidden
    assert IdentityMap.objects.filter(dingtalk_userid="cmp01", active=True).exists()
