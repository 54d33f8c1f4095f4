from integrations.clients.base import Session


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
