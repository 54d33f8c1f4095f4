"""What the sandbox DingTalk received, read through its `_messages` door as another process would."""

import requests


def messages(base_url, since=0, channel=None):
    body = requests.get(f"{base_url}/sandbox/dingtalk/_messages", params={"since": since}, timeout=10).json()
    return [m for m in body["messages"] if channel is None or m["channel"] == channel]


def money(amount):
    return f"¥{amount:,.2f}"
