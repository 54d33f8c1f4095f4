"""The market's "钉钉通讯录 → 金蝶部门与员工": two schemes made together, departments and then people.

A department must exist in Kingdee before a person can sit in it, and parents before children: the
departments scheme writes the tree in dependency order, and the people scheme's records wait for a
department that is not there yet (an org event of the department tries them again). Both read DingTalk's
org events and compare everything every `interval_minutes` as the safety net.
"""

from django.db import transaction

from integrations.market import create_scheme
from integrations.models import Scheme

NAME = "钉钉通讯录 → 金蝶部门与员工"
DEPARTMENTS = "dingtalk-contacts-to-kingdee-departments"
EMPLOYEES = "dingtalk-contacts-to-kingdee-employees"
ORG_ROWS = ("FCreateOrgId", "FUseOrgId", "FPostEntity[].FWorkOrgId")


@transaction.atomic
def create_org_schemes(*, source_connection, target_connection, prefix="DT", org_number="100", scope="",
                       sub_departments=True, identity_rows=True, interval_minutes=10, events=True):
    """(departments scheme, people scheme), created from the two templates with these defaults."""
    scope_params = {"departments": scope, "sub_departments": sub_departments, "number_prefix": prefix}
    made = []
    for slug, extra_source, extra_target in (
        (DEPARTMENTS, {}, {"number_template": f"{prefix}{{key}}"}),
        (EMPLOYEES, {"identity_rows": identity_rows}, {}),
    ):
        scheme = create_scheme(slug, source_connection=source_connection, target_connection=target_connection,
                               event_trigger=events, schedule_kind=Scheme.ScheduleKind.INTERVAL,
                               interval_minutes=interval_minutes)
        scheme.source_params = {**scheme.source_params, **scope_params, **extra_source}
        scheme.target_params = {**scheme.target_params, **extra_target}
        scheme.full_clean()
        scheme.save()
        for row in scheme.mappings.filter(target__in=ORG_ROWS):
            row.params = {**row.params, "value": org_number}
            row.save()
        made.append(scheme)
    return tuple(made)


def org_schemes(source_connection):
    """The departments and people schemes made from the templates for this DingTalk connection, or None."""
    schemes = {s.template: s for s in Scheme.objects.filter(source_connection=source_connection,
                                                          template__in=(DEPARTMENTS, EMPLOYEES))}
    return (schemes[DEPARTMENTS], schemes[EMPLOYEES]) if len(schemes) == 2 else None


def drift():
    """The dashboard's org card: per DingTalk connection with the two org schemes, how many departments and
    people differed between DingTalk and Kingdee at the last comparison (what it wrote, failed on, left
    waiting or found in conflict), when it ran, and the run whose records they are."""
    from django.db.models import Count

    from integrations.models import SyncRecord, SyncRun, Trigger

    comparisons = (Trigger.SCHEDULE, Trigger.MANUAL, Trigger.COMMAND)
    Status = SyncRecord.Status
    cards = {}
    for scheme in Scheme.objects.filter(template__in=(DEPARTMENTS, EMPLOYEES)).select_related(
            "source_connection").order_by("source_connection__name", "pk"):
        run = (SyncRun.objects.filter(scheme=scheme, trigger__in=comparisons).exclude(status=SyncRun.Status.RUNNING)
               .order_by("-started_at").first())
        row = {"scheme": scheme, "people": scheme.template == EMPLOYEES, "run": run}
        if run is not None:
            counts = dict(SyncRecord.objects.filter(run=run).values_list("status").annotate(n=Count("pk")))
            conflicts = SyncRecord.objects.filter(scheme=scheme, status=Status.CONFLICT,
                                                  updated_at__gte=run.started_at,
                                                  updated_at__lte=run.finished_at or run.started_at).count()
            row.update(written=counts.get(Status.SUCCEEDED, 0), failed=counts.get(Status.FAILED, 0),
                       waiting=counts.get(Status.WAITING, 0) + counts.get(Status.PENDING, 0), conflicts=conflicts)
            row["differed"] = row["written"] + row["failed"] + row["waiting"] + conflicts
        card = cards.setdefault(scheme.source_connection_id, {"connection": scheme.source_connection, "rows": []})
        card["rows"].append(row)
    return list(cards.values())
