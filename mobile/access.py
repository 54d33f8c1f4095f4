"""Who may use the inventory lookup, and which organisations and warehouses each person may see.

What a search needs to know about its reader (their identity-map row, their groups, the lookup's settings) is
read from the database once and kept in each process until any of those rows changes: a change, saved in any
process, stamps a new generation in the shared cache after it commits, and every process reads the rows again
at its next search. So switching someone off still takes effect at the next search, and a search that finds
its reader known costs one cache read instead of four queries.
"""

import hashlib
import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from mobile.models import InventoryScope, LookupSettings, numbers
from sso.login import Refused
from sso.models import IdentityMap, LoginEvent

GENERATION_KEY = "mobile:access:generation"
MEMO_SECONDS = 60  # a safety net for changes no signal reports (a raw SQL update); saves report at once
_memo, _memo_lock = {}, threading.Lock()


@dataclass(frozen=True)
class Rule:
    orgs: frozenset  # empty: every organisation
    warehouses: frozenset  # empty: every warehouse

    def allows(self, org, warehouse):
        return (not self.orgs or org in self.orgs) and (not self.warehouses or warehouse in self.warehouses)


@dataclass(frozen=True)
class Scope:
    rules: tuple

    def allows(self, org, warehouse):
        return any(rule.allows(org, warehouse) for rule in self.rules)

    @property
    def key(self):
        """Short and the same for every person with the same rules: names the pages rendered for this scope."""
        text = repr(sorted((sorted(rule.orgs), sorted(rule.warehouses)) for rule in self.rules))
        return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Reader:
    """What a search needs about the person: `refused` (a LoginEvent reason) or their name and scope."""

    userid: str
    refused: str = ""
    name: str = ""
    scope: Scope | None = None


def mapped_identity(userid):
    """The person's active identity-map row; Refused (as SSO refuses) when unmapped or switched off."""
    identity = IdentityMap.objects.filter(dingtalk_userid=userid).first()
    if identity is None or not identity.kingdee_username:
        raise Refused(LoginEvent.Reason.UNMAPPED)
    if not identity.active:
        raise Refused(LoginEvent.Reason.DISABLED)
    return identity


def scope_of(identity):
    """The union of the person's groups, or None when they belong to none (they see nothing)."""
    groups = InventoryScope.objects.filter(members=identity)
    rules = tuple(Rule(frozenset(numbers(group.orgs)), frozenset(numbers(group.warehouses))) for group in groups)
    return Scope(rules) if rules else None


def visible(materials, scope):
    """The search results with only the stock rows the scope allows (materials keep showing, maybe with none)."""
    return [{**material, "stocks": [row for row in material["stocks"] if scope.allows(row["org"], row["warehouse"])]}
            for material in materials]


def reader_and_settings(userid):
    """(Reader, LookupSettings or None), from this process's memo while nothing they depend on has changed."""
    generation, now = cache.get(GENERATION_KEY), time.monotonic()
    memo = _memo.get(userid)
    if memo is not None and memo[0] == generation and now - memo[1] < MEMO_SECONDS:
        return memo[2], memo[3]
    found = (_reader(userid), LookupSettings.current())
    with _memo_lock:
        if len(_memo) > 10_000:
            _memo.clear()
        _memo[userid] = (generation, now, *found)
    return found


def _reader(userid):
    try:
        identity = mapped_identity(userid)
    except Refused as refused:
        return Reader(userid, refused=refused.reason)
    return Reader(userid, name=identity.name, scope=scope_of(identity))


def changed(**_kwargs):
    """Receiver for saves and deletions of identities, groups (and their members) and the lookup's settings."""
    transaction.on_commit(lambda: cache.set(GENERATION_KEY, time.time_ns(), timeout=None))
