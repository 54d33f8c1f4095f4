"""Who may use the inventory lookup, and which organisations and warehouses each person may see."""

from dataclasses import dataclass

from mobile.models import InventoryScope, numbers
from sso.login import Refused
from sso.models import IdentityMap, LoginEvent


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
