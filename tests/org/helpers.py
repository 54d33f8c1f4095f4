"""Shared steps of the org tests: template rows, adapters on the world's clients, Kingdee's view of the org."""

from integrations import adapters, market, mapping
from sandbox.dingtalk.models import Department, Employee
from sandbox.kingdee.models import FormRecord
from tests.org.driver import Driver

DEPARTMENTS = "dingtalk-contacts-to-kingdee-departments"
EMPLOYEES = "dingtalk-contacts-to-kingdee-employees"


def rows(slug):
    return [mapping.Row(**{k: v for k, v in spec.items() if k != "note"}) for spec in market.get(slug)["mappings"]]


def driver(world, slug, **source_params):
    template = market.get(slug)
    dingtalk, kingdee = world.clients()
    source = adapters.source_class(template["source"]["kind"])({**template["source"]["params"], **source_params},
                                                               dingtalk)
    target = adapters.target_class(template["target"]["kind"])(template["target"]["params"], kingdee)
    value_maps = {spec["name"]: {} for spec in template.get("value_maps", [])}
    return Driver(source, target, rows(slug), value_maps)


def full_pass(drv):
    return drv.sync(list(drv.source.list(None, None)))


def kingdee_departments():
    """{number: (name, parent number, forbidden)} of the DT departments."""
    return {r.number: (r.name, (r.model.get("FParentID") or {}).get("FNumber", ""), r.forbidden)
            for r in FormRecord.objects.filter(form_id="BD_Department", number__startswith="DT")}


def dingtalk_departments():
    return {f"DT{d.dept_id}": (d.name, f"DT{d.parent_id}" if d.parent_id not in (None, 1) else "", False)
            for d in Department.objects.exclude(dept_id=1)}


def employee(number):
    return FormRecord.objects.filter(form_id="BD_Empinfo", number=number).first()


def post_dept(record):
    return ((record.model.get("FPostEntity") or [{}])[0].get("FPostDept") or {}).get("FNumber", "")


def expected_dept(person):
    first = person.dept_ids()[0]
    return "" if first == 1 else f"DT{first}"


def staff_number(person):
    return person.job_number or person.userid


def active_people():
    return list(Employee.objects.filter(active=True).prefetch_related("departments"))
