"""What one login writes and reads, statement by statement: the speed-ups of issue 17 must keep every field."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sso.models import LoginEvent
from tests.sso.conftest import CORP_ID
from tests.sso.test_views import LOGIN, dingtalk  # noqa: F401 — the fake DingTalk fixture

REFERENCE = re.compile(r"[A-HJ-NP-Z2-9]{10}")


def test_a_login_inserts_its_event_in_one_statement_with_every_field_and_reads_the_identity_once(
        client, dingtalk, mapped, sso_settings):  # noqa: F811
    client.get(LOGIN, {"code": dingtalk.code_for("user001"), "corpId": CORP_ID})  # settings read, cached
    before = timezone.now()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LOGIN, {"code": dingtalk.code_for("user001"), "corpId": CORP_ID, "form": ""},
                              HTTP_USER_AGENT="DingTalk/7.6", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    statements = [query["sql"] for query in captured]
    events = [sql for sql in statements if "sso_loginevent" in sql]
    assert len(events) == 1 and events[0].startswith("INSERT")
    assert len([sql for sql in statements if "sso_identitymap" in sql]) == 1
    event = LoginEvent.objects.latest("id")
    assert before <= event.created_at <= timezone.now() and REFERENCE.fullmatch(event.reference)
    assert (event.outcome, event.reason, event.flow, event.sso_settings, event.ip, event.user_agent) == (
        "success", "", "in_client", sso_settings, "10.1.2.3", "DingTalk/7.6")
    assert (event.dingtalk_userid, event.name, event.kingdee_username, event.form_id, event.detail) == (
        "user001", "张三", "张三", "", "")


def test_the_reference_a_refused_person_is_shown_is_the_one_logged(client, dingtalk):  # noqa: F811
    response = client.get(LOGIN, {"code": dingtalk.code_for("user404"), "corpId": CORP_ID})
    event = LoginEvent.objects.get()
    assert event.outcome == "refused" and event.reason == "unmapped"
    assert REFERENCE.fullmatch(event.reference) and event.reference in response.content.decode()


def test_references_use_the_whole_alphabet_and_differ():
    references = {LoginEvent.reference.field.default() for _n in range(400)}
    assert len(references) == 400 and all(REFERENCE.fullmatch(reference) for reference in references)
    assert set("".join(references)) == set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
