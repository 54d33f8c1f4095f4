import pytest

from integrations.clients.base import HttpClient, Session
from integrations.clients.errors import BusinessError, TransientError


def test_the_proxy_environment_is_read_per_origin(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "inside.example")
    session = Session()

    outside = session.merge_environment_settings("http://oapi.example/gettoken", {}, None, None, None)
    inside = session.merge_environment_settings("http://inside.example/k3cloud/x", {}, None, None, None)
    again = session.merge_environment_settings("http://oapi.example/other?x=1", {}, None, None, None)

    assert outside["proxies"]["http"] == "http://proxy.example:3128"
    assert "http" not in inside["proxies"]
    assert again == outside


def test_explicit_request_settings_are_merged_as_requests_does(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    merged = Session().merge_environment_settings("http://oapi.example/", {"http": "http://mine:1"}, True, False,
                                                  None)
    assert merged["proxies"]["http"] == "http://mine:1" and merged["stream"] is True and merged["verify"] is False


class Scripted(HttpClient):
    """Answers each attempt from a script: an exception to raise, or a payload."""

    def __init__(self, *answers):
        super().__init__()
        self.answers, self.attempts_made = list(answers), 0

    def _send_once(self, method, url, **kwargs):
        self.attempts_made += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_call_that_succeeds_at_once_is_made_once():
    client = Scripted({"ok": 1})
    assert client.request("GET", "http://remote.example/") == {"ok": 1} and client.attempts_made == 1


def test_a_retryable_failure_is_retried_until_the_call_succeeds():
    client = Scripted(TransientError("busy"), TransientError("busy"), {"ok": 2})
    assert client.request("GET", "http://remote.example/") == {"ok": 2} and client.attempts_made == 3


def test_retries_stop_after_the_client_s_attempts_with_the_last_error():
    client = Scripted(*[TransientError(f"busy {n}") for n in range(1, 5)])
    with pytest.raises(TransientError, match="busy 4"):
        client.request("GET", "http://remote.example/")
    assert client.attempts_made == client.attempts == 4


def test_a_refusal_is_not_retried():
    client = Scripted(BusinessError("unknown id"), {"ok": 3})
    with pytest.raises(BusinessError):
        client.request("GET", "http://remote.example/")
    assert client.attempts_made == 1
