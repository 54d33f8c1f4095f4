"""Issue 16's acceptance at small scale: two `qcluster`s of two workers each book 60 approved claims
against an app allowed 6 calls a second per API (DingTalk's is 20; smaller here, so that four workers with a
budget each would overrun it twice over); the sandbox, enforcing the limit as DingTalk does, throttles nothing
and serves every instance's detail once. The connection is set to half the limit: this test is about one budget
for every process, not about how close to the limit calls may go on a loaded test machine, where a call spaced
correctly can still reach the sandbox together with the next ones (bench_faults measures that)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache

from integrations.models import Connection, SyncRecord
from sandbox.dingtalk.views.gate import injector
from tests.events.processes import ManageProcess
from tests.events.sandbox_world import create_claims, decide, events_world
from tests.integrations.live import bill_counts, faultless, sandbox_faults, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
CLAIMS = 60
QPS = 6


def cluster():
    """A qcluster of two workers that remembers finished instances, as in production."""
    return ManageProcess("qcluster", name="qcluster", Q_WORKERS="2", SYNC_LEASE_SECONDS="6",
                         DINGTALK_DETAIL_MEMO_SECONDS="600")


@pytest.fixture
def clusters():
    started = [cluster(), cluster()]
    yield started
    for process in started:
        process.stop()


def test_two_clusters_share_one_budget_and_read_each_detail_once(live_server, shared_budgets, clusters):
    cache.clear()
    with faultless(live_server.url, event_duplicate_rate=0) as base_url:
        scheme = events_world(base_url)
        Connection.objects.filter(pk=scheme.source_connection_id).update(rate_limit=QPS // 2)
        claims = create_claims(base_url, CLAIMS)
        sandbox_faults(base_url, "dingtalk", event_duplicate_rate=0, qps_limit=QPS)
        injector.log.clear()
        with ThreadPoolExecutor(8) as approvers:
            list(approvers.map(lambda instance_id: decide(base_url, instance_id), claims))

        def all_booked():
            return SyncRecord.objects.filter(source_key__in=claims, status=SyncRecord.Status.SUCCEEDED).count() \
                == CLAIMS

        try:
            wait_for(all_booked, timeout=480, message=f"{CLAIMS} bills")
        except AssertionError:
            for process in clusters:
                print(process.output()[-3000:])
            raise
        assert injector.log.entries(outcome="throttled") == []
        assert {key: injector.log.read_counts().get(key) for key in claims} == dict.fromkeys(claims, 1)
        assert {key: bill_counts(base_url)[key] for key in claims} == dict.fromkeys(claims, 1)
