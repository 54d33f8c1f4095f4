"""DingTalk's official v1.0 SDK (alibabacloud_dingtalk) against the sandbox, given only a host and port: the
sandbox answers DingTalk's paths at the root of a host name listed in SANDBOX_DINGTALK_HOSTS."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from alibabacloud_dingtalk.oauth2_1_0 import models as oauth2_models
from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuth2Client
from alibabacloud_dingtalk.workflow_1_0 import models as workflow_models
from alibabacloud_dingtalk.workflow_1_0.client import Client as WorkflowClient
from alibabacloud_tea_openapi import models as open_api_models
from Tea.exceptions import TeaException
from django.utils import timezone

from sandbox import roster
from sandbox.dingtalk.models import App, ApprovalInstance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sdk_config(live_server, settings):
    """The SDK's endpoint is "localhost:<port>": the portal's live server, under the sandbox's host name."""
    from devtools import demo

    demo.seed_sandbox(instances=10)
    settings.SANDBOX_DINGTALK_HOSTS = ["localhost"]
    return open_api_models.Config(protocol="http", region_id="central",
                                  endpoint=f"localhost:{urlsplit(live_server.url).port}")


def app_token(config):
    app = App.objects.order_by("pk").first()
    request = oauth2_models.GetAccessTokenRequest(app_key=app.app_key, app_secret=app.app_secret)
    return OAuth2Client(config).get_access_token(request).body


def test_the_sdk_gets_an_app_token(sdk_config):
    body = app_token(sdk_config)
    assert body.access_token and body.expire_in > 0


def test_the_sdk_lists_and_reads_approvals(sdk_config):
    token = app_token(sdk_config).access_token
    client = WorkflowClient(sdk_config)
    now = timezone.now()
    listed = client.list_process_instance_ids_with_options(
        workflow_models.ListProcessInstanceIdsRequest(
            process_code=roster.EXPENSE_PROCESS_CODE, start_time=int((now - timedelta(days=100)).timestamp() * 1000),
            end_time=int(now.timestamp() * 1000), next_token=0, max_results=20),
        workflow_models.ListProcessInstanceIdsHeaders(x_acs_dingtalk_access_token=token),
        _runtime()).body.result.list
    expected = set(ApprovalInstance.objects.filter(template__process_code=roster.EXPENSE_PROCESS_CODE)
                   .values_list("process_instance_id", flat=True))
    assert listed and set(listed) <= expected
    instance = ApprovalInstance.objects.get(process_instance_id=listed[0])
    detail = client.get_process_instance_with_options(
        workflow_models.GetProcessInstanceRequest(process_instance_id=instance.process_instance_id),
        workflow_models.GetProcessInstanceHeaders(x_acs_dingtalk_access_token=token), _runtime()).body.result
    assert detail.title == instance.title and detail.status == instance.status


def test_the_sdk_sees_dingtalks_own_errors(sdk_config):
    client = WorkflowClient(sdk_config)
    with pytest.raises(TeaException) as refused:
        client.get_process_instance_with_options(
            workflow_models.GetProcessInstanceRequest(process_instance_id="nope"),
            workflow_models.GetProcessInstanceHeaders(x_acs_dingtalk_access_token="not-a-token"), _runtime())
    assert refused.value.code == "InvalidAuthentication"


def test_only_the_sandbox_host_answers_as_dingtalk_at_the_root(live_server, settings):
    settings.SANDBOX_DINGTALK_HOSTS = ["localhost"]
    port = urlsplit(live_server.url).port
    as_dingtalk = requests.post(f"http://localhost:{port}/v1.0/oauth2/accessToken", json={}, timeout=10)
    as_portal = requests.post(f"http://127.0.0.1:{port}/v1.0/oauth2/accessToken", json={}, timeout=10)
    assert as_dingtalk.json()["code"] and as_portal.status_code == 404
    assert requests.get(f"http://localhost:{port}/healthz", timeout=10).status_code in (200, 503)


def _runtime():
    from alibabacloud_tea_util import models as util_models

    return util_models.RuntimeOptions()
