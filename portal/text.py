"""Small text helpers every page and message shares (pure: no Django)."""

import json


def shorten(value, limit=80):
    """One line of at most `limit` characters, with "…" where it was cut."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pretty_json(value):
    """Indented JSON with Chinese left readable; "" for nothing."""
    return "" if value in (None, "", {}, []) else json.dumps(value, ensure_ascii=False, indent=2)
