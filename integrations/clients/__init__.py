"""Remote clients. They take plain values, never models: `client_for` reads a Connection's attributes."""


QUICK_TIMEOUTS = {"connect_timeout": 2.0, "read_timeout": 4.0}  # reads inside a web request


def client_for(connection, *, quick=False):
    """The client for a Connection (or anything with the same attributes).

    A Kingdee connection talks to its test data centre when it is in rehearsal (a scheme in rehearsal sets
    that on the connection it loads, see `SchemeConnection`). `quick`: for reads inside a web request
    (field pickers): short timeouts and one attempt, so a slow remote never outlasts the page."""
    common = {
        "rate_limit": connection.effective_rate_limit,
        "max_concurrency": connection.max_concurrency,
        "connect_timeout": connection.connect_timeout,
        "read_timeout": connection.read_timeout,
        "name": f"connection-{connection.pk or connection.name}",
    }
    if quick:
        common.update({name: min(common[name], limit) for name, limit in QUICK_TIMEOUTS.items()})
    client = _client(connection, common)
    if quick:
        client.attempts = 1
    return client


def _client(connection, common):
    if connection.kind == "dingtalk":
        from integrations.clients.dingtalk import DingTalkClient

        return DingTalkClient(
            base_url=connection.base_url,
            api_base_url=connection.api_base_url,
            app_key=connection.app_key,
            app_secret=connection.app_secret,
            agent_id=connection.agent_id,
            corp_id=connection.corp_id,
            legacy_approvals=connection.legacy_approval_api,
            yida_app_type=getattr(connection, "yida_app_type", ""),
            yida_system_token=getattr(connection, "yida_system_token", ""),
            **common,
        )
    if connection.kind == "dingtalk_robot":
        from integrations.clients.robot import DingTalkRobotClient

        return DingTalkRobotClient(
            base_url=connection.base_url, access_token=connection.robot_token, secret=connection.robot_secret, **common
        )
    if connection.kind == "kingdee":
        from integrations.clients.kingdee import KingdeeClient

        return KingdeeClient(
            base_url=connection.base_url,
            acct_id=getattr(connection, "data_centre_id", connection.acct_id),
            username=connection.username,
            app_id=connection.app_id,
            app_secret=connection.app_secret,
            password=connection.password,
            lcid=connection.lcid,
            org_number=connection.org_number,
            auth_mode=connection.auth_mode,
            **common,
        )
    raise ValueError(f"no client for connection kind {connection.kind!r}")
