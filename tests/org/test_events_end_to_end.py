"""Org changes made through the sandbox's contacts door reach Kingdee by their events (HTTP callback and Stream),
booked by real `qcluster` processes; a leaver is refused by single sign-on as soon as the event is settled."""

import pytest

from devtools import demo
from integrations import engine
from integrations.market.org import create_org_schemes
from integrations.models import DingTalkEvent, SyncRun
from sandbox.dingtalk.models import Employee
from sso.models import IdentityMap
from tests.events.processes import ManageProcess, cluster
from tests.integrations.live import wait_for
from tests.org.helpers import employee, post_dept

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def processes():
    started = []
    yield lambda process: started.append(process) or process
    for process in reversed(started):
        process.stop()


def on_events(world, mode):
    schemes = create_org_schemes(source_connection=world.dingtalk, target_connection=world.kingdee)
    for scheme in schemes:
        scheme.schedule_kind = scheme.ScheduleKind.MANUAL  # events only while the test watches
        scheme.save()
        engine.run_scheme(scheme.pk)  # the first sync; events keep it in step from here
    demo.sandbox_push(world.base_url, world.dingtalk, mode)
    return schemes


def arrives(predicate, what, worker):
    try:
        wait_for(predicate, timeout=90, message=what)
    except AssertionError:
        print(worker.output()[-4000:])
        raise


@pytest.mark.parametrize("mode", ["callback", "stream"])
def test_joiner_mover_leaver_and_rehire_reach_kingdee_by_event(world, processes, mode):
    on_events(world, mode)
    if mode == "stream":
        processes(ManageProcess("sandbox_stream", "--port", "0", name="sandbox_stream"))
        processes(ManageProcess("dingtalk_stream", name="dingtalk_stream"))
    worker = processes(cluster(workers=2))
    runs_before = SyncRun.objects.exclude(trigger="event").count()

    dept = world.door(action="add_dept", name="华南大区", parent_id=1)
    world.door(action="add_user", userid="e2e01", name="方舟", job_number="XH7001", mobile="13911112222",
               dept_id_list=[dept["dept_id"]])
    arrives(lambda: employee("XH7001") is not None and post_dept(employee("XH7001")) == f"DT{dept['dept_id']}"
            and IdentityMap.objects.filter(dingtalk_userid="e2e01", active=True).exists(),
            "the joiner's employee in the new department, and their identity row", worker)

    mover = Employee.objects.filter(active=True).exclude(job_number="").order_by("userid").first()
    world.door(action="update_user", userid=mover.userid, dept_id_list=[dept["dept_id"]], title="区域经理")
    arrives(lambda: post_dept(employee(mover.job_number)) == f"DT{dept['dept_id']}", "the mover", worker)

    world.door(action="leave", userid="e2e01")
    arrives(lambda: employee("XH7001").forbidden and not IdentityMap.objects.get(dingtalk_userid="e2e01").active,
            "the leaver forbidden and their identity disabled", worker)

    world.door(action="add_user", userid="e2e01", name="方舟", job_number="XH7001", mobile="13911112222",
               dept_id_list=[dept["dept_id"]])
    arrives(lambda: not employee("XH7001").forbidden and IdentityMap.objects.get(dingtalk_userid="e2e01").active,
            "the re-hire", worker)

    channel = DingTalkEvent.Channel.STREAM if mode == "stream" else DingTalkEvent.Channel.CALLBACK
    assert DingTalkEvent.objects.filter(channel=channel, event_type="user_leave_org").exists()
    assert SyncRun.objects.exclude(trigger="event").count() == runs_before  # nothing was polled
