"""Helpers for tests against the sandbox served by the live server, with real `qcluster` processes."""

import json
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests
from django.utils import timezone

from devtools import demo
from sandbox import roster
from sandbox.dingtalk.models import ApprovalInstance
from sandbox.kingdee.models import FormRecord
from sso.identities import seed_demo_identities

BEIJING = ZoneInfo("Asia/Shanghai")
Status = ApprovalInstance.Status


def wait_for(predicate, timeout=60, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def shape_claims(approved, refused=0, running=0, cancelled=0, terminated=0, mapped_only=True):
    """Give the seeded 费用报销 instances exactly these outcomes (the rest are deleted); returns them by outcome."""
    unmapped = {person.userid for person in roster.employees()[len(roster.employees()) - 4:]} if mapped_only else set()
    instances = list(ApprovalInstance.objects.filter(template__process_code=roster.EXPENSE_PROCESS_CODE)
                     .exclude(originator__userid__in=unmapped).order_by("create_time", "pk"))
    wanted = {"approved": approved, "refused": refused, "running": running, "cancelled": cancelled,
              "terminated": terminated}
    assert len(instances) >= sum(wanted.values()), "seed more instances"
    shaped, position = {}, 0
    outcomes = {"approved": (Status.COMPLETED, "agree"), "refused": (Status.COMPLETED, "refuse"),
                "running": (Status.RUNNING, ""), "cancelled": (Status.CANCELED, ""),
                "terminated": (Status.TERMINATED, "")}
    for outcome, count in wanted.items():
        status, result = outcomes[outcome]
        chosen = instances[position:position + count]
        position += count
        for instance in chosen:
            instance.status, instance.result, instance.biz_action = status, result, "NONE"
            instance.finish_time = None if status == Status.RUNNING else (
                instance.finish_time or instance.create_time + timedelta(hours=3))
            instance.save()
        shaped[outcome] = chosen
    ApprovalInstance.objects.filter(pk__in=[i.pk for i in instances[position:]]).delete()
    ApprovalInstance.objects.filter(template__process_code=roster.EXPENSE_PROCESS_CODE,
                                    originator__userid__in=unmapped).delete()
    return shaped


def build_world(base_url, *, instances=260, unmapped=0, rate_limit=200.0, concurrency=8):
    """Seed both sandboxes, create the demo connections (pointing at `base_url`), the scheme and identities."""
    credentials = demo.seed_sandbox(instances=instances)
    dingtalk, _robot, kingdee = demo.sandbox_connections(base_url, credentials)
    for connection_ in (dingtalk, kingdee):
        connection_.rate_limit, connection_.max_concurrency = rate_limit, concurrency
        connection_.save()
    scheme = demo.expense_scheme(dingtalk, kingdee, credentials["dingtalk"]["process_code"])
    scheme.schedule_kind = scheme.ScheduleKind.MANUAL
    scheme.start_from = timezone.now() - timedelta(days=demo.SEED_DAYS + 1)
    scheme.save()
    seed_demo_identities(roster.employees(), unmapped=unmapped)
    return scheme


def sandbox_faults(base_url, system, **knobs):
    response = requests.post(f"{base_url}/sandbox/{system}/_faults", data=json.dumps({"reset": True, **knobs}),
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@contextmanager
def faultless(base_url, **dingtalk_knobs):
    """Both sandboxes without faults (DingTalk with `dingtalk_knobs`) for one test, and reset after it."""
    sandbox_faults(base_url, "dingtalk", **dingtalk_knobs)
    sandbox_faults(base_url, "kingdee")
    try:
        yield base_url
    finally:
        sandbox_faults(base_url, "dingtalk")
        sandbox_faults(base_url, "kingdee")


def bill_counts(base_url):
    """{FTHIRDBILLNO: number of AP_PAYBILL bills}, as the sandbox Kingdee reports it."""
    body = requests.get(f"{base_url}/sandbox/kingdee/_bills", params={"form": "AP_PAYBILL"}, timeout=10).json()
    return Counter(body["by_third_bill_no"])


def bills_by_instance():
    return {record.third_bill_no: record for record in FormRecord.objects.filter(form_id="AP_PAYBILL")}


def claim_rows(instance):
    """The 报销明细 rows of a sandbox instance as {column label: value}, parsed from its stored form values."""
    for component in instance.form_values:
        if component.get("name") == "报销明细":
            rows = json.loads(component["value"])
            return [{cell.get("label") or cell.get("key"): cell.get("value") for cell in row["rowValue"]}
                    for row in rows if "rowValue" in row]
    return []


def assert_bill_matches(bill, instance):
    """Amounts, entry rows, payee, date and base-data numbers of the bill agree with the claim."""
    model = bill.model
    staff = instance.originator.job_number
    assert model["FTHIRDBILLNO"] == instance.process_instance_id
    assert model["FCONTACTUNIT"]["FNumber"] == model["FRECTUNIT"]["FNumber"] == staff
    assert model["FCONTACTUNITTYPE"] == model["FRECTUNITTYPE"] == "BD_Empinfo"
    assert model["FDATE"].startswith(instance.finish_time.astimezone(BEIJING).strftime("%Y-%m-%d"))
    assert model["FBillTypeID"]["FNumber"] == "FKDLX04_SYS" and model["FCURRENCYID"]["FNumber"] == "PRE001"
    assert model["FPAYORGID"]["FNumber"] == roster.ORG_NUMBER
    rows = claim_rows(instance)
    entries = model["FPAYBILLENTRY"]
    assert len(entries) == len(rows)
    for entry, row in zip(entries, rows):
        assert Decimal(str(entry["FPAYTOTALAMOUNTFOR"])) == Decimal(row["报销金额(元)"].replace(",", ""))
        assert entry["FCOSTID"]["FNumber"] == roster.expense_item_number(row["费用明细"])
        assert entry["FOPPOSITECCOUNTNAME"] == row["收款人"] and entry["FOPPOSITEBANKACCOUNT"] == row["收款账号"]
        assert entry["FSETTLETYPEID"]["FNumber"] == "JSFS04_SYS" and entry["FACCOUNTID"]["FNumber"] == "YHZH001"
