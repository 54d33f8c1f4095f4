"""Ready reports and alerts (市场方案), kept as JSON files in `integrations/market/reports/`."""

import json
from pathlib import Path

from django.db import transaction

from integrations.models.reports import Report

FOLDER = Path(__file__).resolve().parent.parent / "market" / "reports"
FIELDS = ("kind", "cron", "msgtype", "title", "template", "button_title", "button_url", "queries", "options")


def available():
    """{slug: template} of every report template."""
    templates = {}
    for path in sorted(FOLDER.glob("*.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        templates[template["slug"]] = template
    return templates


@transaction.atomic
def create_report(slug, *, kingdee, robots=(), notice_connection=None, notice_userids="", name=None, **overrides):
    """A new Report from a template, validated like the admin form (raises ValidationError)."""
    template = available().get(slug)
    if template is None:
        raise LookupError(f"no report template {slug!r}; available: {', '.join(available())}")
    values = {field: template[field] for field in FIELDS if field in template}
    report = Report(name=name or template["name"], kingdee=kingdee, notice_connection=notice_connection,
                    notice_userids=notice_userids, template_slug=slug, **{**values, **overrides})
    report.full_clean()
    report.save()
    report.robots.set(robots)
    return report
