"""DingTalkRobotClient against the sandbox's robot webhook over loopback."""

import pytest

from integrations.clients.errors import ConfigurationError, ThrottledError
from integrations.clients.robot import DingTalkRobotClient
from sandbox.dingtalk.models import RobotMessage
from tests.sandbox_dingtalk.helpers import sandbox_url, seeded  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def robot(live_server, seeded, **overrides):
    credentials = {**seeded["dingtalk_robot"], **overrides}
    return DingTalkRobotClient(base_url=sandbox_url(live_server), access_token=credentials["access_token"],
                               secret=credentials["secret"], rate_limit=None, max_concurrency=2,
                               connect_timeout=2, read_timeout=5, name="robot-test")


def test_a_signed_markdown_message_is_accepted_and_recorded(live_server, seeded):
    robot(live_server, seeded).send_markdown("同步失败", "### 3 张单据失败\n请处理")
    message = RobotMessage.objects.get()
    assert message.body["markdown"]["title"] == "同步失败" and message.msg_uuid


def test_a_retried_message_with_the_same_uuid_is_posted_once(live_server, seeded):
    client = robot(live_server, seeded)
    client.send_text("对账完成", msg_uuid="run-42")
    client.send_text("对账完成", msg_uuid="run-42")
    assert RobotMessage.objects.count() == 1


def test_a_wrong_secret_is_a_configuration_error_with_dingtalks_message(live_server, seeded):
    with pytest.raises(ConfigurationError) as caught:
        robot(live_server, seeded, secret="SECwrong").check()
    assert caught.value.code == 310000 and caught.value.message.startswith("sign not match")


def test_an_unknown_token_is_a_configuration_error(live_server, seeded):
    with pytest.raises(ConfigurationError, match="token is not exist"):
        robot(live_server, seeded, access_token="nope").send_text("hi")


def test_the_rate_limit_penalty_is_a_throttled_error_that_is_not_retried(live_server, seeded):
    client = robot(live_server, seeded)
    for index in range(20):
        client.send_text(f"第 {index} 条")
    with pytest.raises(ThrottledError) as caught:
        client.send_text("第 21 条")
    assert caught.value.code == 410100 and not caught.value.retryable
    assert client.calls["/sandbox/dingtalk/robot/send"] == 21
