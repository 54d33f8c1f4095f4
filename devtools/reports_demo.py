"""Demo set-up: the ready reports and the stock alert to the sandbox group robot, and the inventory lookup."""

from integrations.models import Report
from integrations.reports import market
from mobile.models import InventoryScope, LookupSettings
from sso.models import IdentityMap

EVERYONE = "全部销售（演示）"


def setup_demo_reports(kingdee, robot, dingtalk):
    """Idempotent: one report per template (the alert also as work notices to each material's buyer)."""
    made = []
    for slug in market.available():
        if not Report.objects.filter(template_slug=slug).exists():
            made.append(market.create_report(slug, kingdee=kingdee, robots=[robot], notice_connection=dingtalk))
    settings = LookupSettings.objects.order_by("pk").first() or LookupSettings(kingdee=kingdee)
    settings.kingdee, settings.enabled = kingdee, True
    settings.save()
    scope, _created = InventoryScope.objects.get_or_create(name=EVERYONE)
    scope.members.set(IdentityMap.objects.filter(active=True))
    return made
