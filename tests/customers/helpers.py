"""Reading and changing both sides of the customers sync in tests."""

from integrations import engine
from integrations.customers import proposals
from integrations.models import SyncRecord
from sandbox.dingtalk.models import CrmCustomer
from sandbox.kingdee.models import FormRecord

# The two-way fields: Kingdee key → DingTalk key (as the template maps them).
FIELDS = {"FName": "customer_name", "FShortName": "short_name", "FSOCIALCRECODE": "credit_code", "FTEL": "phone",
          "FADDRESS": "address"}


def number_of(value):
    return value.get("FNumber", "") if isinstance(value, dict) else value or ""


def kingdee_customers():
    """{number: record} of the sandbox's BD_Customer."""
    return {r.number: r for r in FormRecord.objects.filter(form_id="BD_Customer")}


def kingdee_value(record, field):
    return str(number_of(record.model.get(field)) or "")


def dingtalk_customers():
    return {c.instance_id: c for c in CrmCustomer.objects.filter(deleted=False)}


def pairs(scheme):
    """{DingTalk instance id: Kingdee number} of the ledger's pairs."""
    return dict(SyncRecord.objects.filter(scheme=scheme, target_number__gt="").exclude(
        source_key__startswith="kingdee:").values_list("source_key", "target_number"))


def run(scheme):
    return engine.run_scheme(scheme.pk)


def first_matching(scheme):
    """The first run, all its proposals approved, the run that creates them."""
    run(scheme)
    proposals.approve(scheme, None, user=None)
    return run(scheme)


def writes(run):
    """The calls of a run that changed something on either side."""
    calls = {**run.stats["calls"]["source"], **run.stats["calls"]["target"]}
    return {path: n for path, n in calls.items() if any(word in path for word in (
        "Save", "ExcuteOperation", "crm/customers", "relationDatas"))}


def kingdee_save(world, customer, **fields):
    """An edit made in Kingdee (through the Kingdee client, as a person's client would)."""
    outcome = world.kingdee_client().batch_save("BD_Customer", [{"FCUSTID": customer.fid, **fields}],
                                                NeedUpDateFields=list(fields), IsDeleteEntry="false")[0]
    assert outcome.ok, outcome.errors
