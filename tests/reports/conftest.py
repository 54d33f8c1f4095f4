import pytest

from tests.sandbox_kingdee.fixtures import api, creds, faults, fresh_injector, kd_url, people, webapi  # noqa: F401


@pytest.fixture
def world(live_server, transactional_db):
    """Both sandboxes seeded and the demo's connections pointing at the live server; identities mapped."""
    from devtools import demo
    from sandbox import roster
    from sso.identities import seed_demo_identities
    from tests.integrations.live import faultless

    credentials = demo.seed_sandbox(instances=5)
    dingtalk, robot, kingdee = demo.sandbox_connections(live_server.url, credentials)
    # The sandbox, like DingTalk, refuses a robot's 21st message in a minute and no test here posts 20; at the
    # robot's default 0.3 calls a second the client would space a test's few messages 3 s apart for nothing.
    for connection, rate in ((dingtalk, 100.0), (robot, 20.0), (kingdee, 100.0)):
        connection.rate_limit = rate
        connection.save()
    seed_demo_identities(roster.employees(), unmapped=4)
    with faultless(live_server.url):
        yield {"url": live_server.url, "dingtalk": dingtalk, "robot": robot, "kingdee": kingdee,
               "credentials": credentials}
