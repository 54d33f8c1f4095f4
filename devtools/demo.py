"""The demo: sandbox connections, the expense-claim scheme and the identity map, from `sandbox_seed`'s output."""

import io
import json
from datetime import timedelta

from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations import market, tasks
from integrations.models import Connection, Scheme, ValueMap, ValueMapEntry

DINGTALK, ROBOT, KINGDEE = "沙箱钉钉", "沙箱钉钉群机器人", "沙箱金蝶"
DEPARTMENTS = "钉钉部门→金蝶部门"
SEED_DAYS = 90


def seed_sandbox(**options):
    """Run `sandbox_seed --json` and return the credentials it prints."""
    out = io.StringIO()
    call_command("sandbox_seed", json=True, days=SEED_DAYS, stdout=out, **options)
    return json.loads(out.getvalue())


def save_connection(name, kind, **fields):
    connection = Connection.objects.filter(name=name).first() or Connection(name=name, kind=kind)
    for field, value in fields.items():
        setattr(connection, field, value)
    connection.kind, connection.enabled = kind, True
    connection.full_clean()
    connection.save()
    return connection


def sandbox_connections(base_url, credentials):
    root = base_url.rstrip("/")
    dingtalk, robot, kingdee = credentials["dingtalk"], credentials["dingtalk_robot"], credentials["kingdee"]
    return (
        save_connection(
            DINGTALK, Connection.Kind.DINGTALK, base_url=f"{root}/sandbox/dingtalk/",
            api_base_url=f"{root}/sandbox/dingtalk/", app_key=dingtalk["app_key"], app_secret=dingtalk["app_secret"],
            agent_id=dingtalk["agent_id"], corp_id=dingtalk["corp_id"], callback_token=dingtalk["callback_token"],
            callback_aes_key=dingtalk["callback_aes_key"],
            yida_app_type=credentials.get("yida", {}).get("app_type", ""),
            yida_system_token=credentials.get("yida", {}).get("system_token", ""),
        ),
        save_connection(ROBOT, Connection.Kind.DINGTALK_ROBOT, base_url=f"{root}/sandbox/dingtalk/",
                        robot_token=robot["access_token"], robot_secret=robot["secret"]),
        save_connection(
            KINGDEE, Connection.Kind.KINGDEE, base_url=f"{root}/sandbox/kingdee/", acct_id=kingdee["acct_id"],
            username=kingdee["username"], app_id=kingdee["app_id"], app_secret=kingdee["app_secret"],
            password=kingdee.get("password", ""), lcid=kingdee.get("lcid", 2052),
            org_number=kingdee.get("org_number", "100"),
        ),
    )


def fill_departments(scheme):
    """The demo company's DingTalk departments → its Kingdee department numbers (the template leaves it empty)."""
    from sandbox import roster

    value_map, _created = ValueMap.objects.get_or_create(scheme=scheme, name=DEPARTMENTS)
    for department in roster.departments():
        ValueMapEntry.objects.update_or_create(
            value_map=value_map, source_value=str(department.dept_id),
            defaults={"target_value": department.kingdee_number, "note": department.name},
        )


@transaction.atomic
def expense_scheme(dingtalk, kingdee, process_code):
    scheme = Scheme.objects.filter(template=market.DEFAULT, source_connection=dingtalk).first()
    if scheme is None:
        scheme = market.create_scheme(market.DEFAULT, source_connection=dingtalk, target_connection=kingdee,
                                      process_code=process_code)
    scheme.target_connection, scheme.enabled = kingdee, True
    # Approvals are booked on DingTalk's events; the schedule is the safety net for a missed one.
    scheme.event_trigger = True
    scheme.schedule_kind, scheme.interval_minutes = Scheme.ScheduleKind.INTERVAL, 30
    scheme.start_from = scheme.start_from or timezone.now() - timedelta(days=SEED_DAYS + 1)
    scheme.save()
    fill_departments(scheme)
    return scheme


def org_schemes(dingtalk, kingdee):
    """The market's "钉钉通讯录 → 金蝶部门与员工" on the sandbox connections (made once)."""
    from integrations.market import org

    schemes = org.org_schemes(dingtalk)
    if schemes is None:
        schemes = org.create_org_schemes(source_connection=dingtalk, target_connection=kingdee)
    for scheme in schemes:
        scheme.target_connection, scheme.enabled = kingdee, True
        scheme.save()
    return schemes


def sandbox_push(base_url, dingtalk, mode="callback"):
    """The sandbox DingTalk app sends its approval events to this portal: by HTTP push to the connection's
    callback URL, or in Stream mode (then `sandbox_stream` and `dingtalk_stream` must run)."""
    from sandbox.dingtalk.models import App

    url = base_url.rstrip("/") + reverse("integrations:dingtalk_callback", args=[dingtalk.pk])
    push_mode = App.PushMode.STREAM if mode == "stream" else App.PushMode.HTTP
    App.objects.filter(app_key=dingtalk.app_key).update(push_mode=push_mode, callback_url=url)
    return url if push_mode == App.PushMode.HTTP else "Stream mode"


def seed_identities():
    """The identity map of the demo company, a few employees left out on purpose and marked so in the client."""
    from sandbox import roster
    from sso.identities import seed_demo_identities

    mapped, unmapped = seed_demo_identities(roster.employees())
    mark_unmapped_in_client()
    return mapped, unmapped


def mark_unmapped_in_client():
    """The sandbox's DingTalk client marks the employees the identity map leaves out, so nobody wonders why their
    Kingdee login is refused."""
    from sandbox.dingtalk.models import Employee
    from sso.models import IdentityMap

    mapped = IdentityMap.objects.filter(active=True).values_list("dingtalk_userid", flat=True)
    Employee.objects.exclude(userid__in=mapped).update(demo_note="未映射：登录金蝶会被拒绝")
    Employee.objects.filter(userid__in=mapped).update(demo_note="")


def setup_demo(base_url, events="callback"):
    """Idempotent. Returns a few lines describing what is ready."""
    from devtools.reports_demo import setup_demo_reports
    from devtools.sso_demo import setup_demo_sso

    credentials = seed_sandbox()
    dingtalk, robot, kingdee = sandbox_connections(base_url, credentials)
    scheme = expense_scheme(dingtalk, kingdee, credentials["dingtalk"]["process_code"])
    pushed_to = sandbox_push(base_url, dingtalk, events)
    mapped, unmapped = seed_identities()
    setup_demo_sso(kingdee, credentials["kingdee_sso"], dingtalk)
    setup_demo_reports(kingdee, robot, dingtalk)
    tasks.enqueue_run(scheme)
    departments, people = org_schemes(dingtalk, kingdee)
    return [
        f"Sandbox connections: {dingtalk.name}, {robot.name}, {kingdee.name} → {base_url.rstrip('/')}/sandbox/",
        f"Scheme “{scheme.name}” (id {scheme.pk}) books approvals on DingTalk events and polls every 30 minutes "
        "as a safety net; a first run is queued.",
        f"Sandbox approval events → {pushed_to}: approve a running claim in the sandbox admin and its bill follows.",
        f"Org sync: “{departments.name}” and “{people.name}” follow DingTalk's org events and compare every "
        f"{people.interval_minutes} minutes; add a person with POST /sandbox/dingtalk/_contacts and see their "
        "Kingdee employee and identity row appear.",
        f"Identity map: {mapped} employees mapped, {unmapped} left unmapped on purpose.",
        f"Single sign-on: open {base_url.rstrip('/')}/sandbox/dingtalk/client/, pick an employee and open the "
        "Kingdee app to land in the sandbox Kingdee logged in as them.",
        f"Reports and the stock alert post to {robot.name} on their schedules (admin → 报表与预警 → 运行); "
        f"the stock lookup is {base_url.rstrip('/')}/m/inventory/ (open it from the sandbox DingTalk client).",
    ]
