"""Closed accounting periods: a bill or voucher Kingdee refuses because its period is closed (or not yet open)
waits in the ledger — status `period`, the period named — instead of failing.

- `is_period_refusal(message)`: the reference's substring rule (round 2 §5.2, §9): 结账, 关账 or 期间, and not a
  balance, dimension or account problem;
- `release(scheme)`: at the start of each scheduled run the waiting records go back to pending, so they are
  booked by the first run after finance opens the period, with no person involved; while the period stays
  closed Kingdee refuses again and they wait again;
- `redate`: with the scheme's target setting `period_redate`, a refused record is instead dated into the first
  open period the refusal names (or the month after its own), the original date kept in the remark;
- `waiting_by_period(...)`: count and money waiting per period, for the review list and the dashboard.
"""

import re
from datetime import date

from django.db.models import Count, Sum

REASON = "period_closed"
STATUS = "period"  # SyncRecord.Status.PERIOD (this module stays below the models: adapters use it)
PENDING = "pending"
MARKERS = ("结账", "关账", "期间")
NOT_PERIOD = ("平衡", "维度", "科目")
DATE_KEYS = ("FDATE", "FDate", "FBUSDATE")
CURRENT = re.compile(r"(\d{4})年第(\d{1,2})期")


def is_period_refusal(message):
    text = message or ""
    return any(marker in text for marker in MARKERS) and not any(marker in text for marker in NOT_PERIOD)


def bill_date(payload):
    for key in DATE_KEYS:
        value = (payload or {}).get(key)
        if value:
            try:
                return date.fromisoformat(str(value)[:10])
            except ValueError:
                continue
    return None


def period_of(payload):
    """"YYYY-MM" of the package's business date ("" when it has none)."""
    day = bill_date(payload)
    return f"{day.year:04d}-{day.month:02d}" if day else ""


def first_open_day(message, period):
    """The first day of the open period the refusal names (…当前期间(2026年第5期)…), else of the month after
    `period`."""
    found = [(int(y), int(m)) for y, m in CURRENT.findall(message or "")]
    year, month = (int(part) for part in period.split("-"))
    candidates = [(y, m) for y, m in found if (y, m) > (year, month)]
    year, month = candidates[0] if candidates else ((year + 1, 1) if month == 12 else (year, month + 1))
    return date(year, month, 1)


def redated(payload, day, remark_key="FREMARK"):
    """The payload dated `day` (its date keys, and a voucher's year and period), the original date in the remark."""
    original = bill_date(payload)
    payload = dict(payload)
    for key in DATE_KEYS:
        if key in payload:
            payload[key] = day.isoformat()
    if "FYEAR" in payload or "FPERIOD" in payload:
        payload["FYEAR"], payload["FPERIOD"] = day.year, day.month
    note = f"原业务日期 {original.isoformat()}（原期间已结账）" if original else ""
    if "FEntity" in payload and isinstance(payload["FEntity"], list):  # a voucher: the remark is the 摘要
        payload["FEntity"] = [{**row, "FEXPLANATION": f"{row.get('FEXPLANATION', '')} {note}".strip()}
                              for row in payload["FEntity"]]
    else:
        payload[remark_key] = f"{payload.get(remark_key) or ''} {note}".strip()
    return payload


# ---- the ledger side ----------------------------------------------------------------------------


def release(scheme):
    """Records waiting for a period go back to pending (the scheme's scheduled run writes them again: one
    BatchSave per batch while the period stays closed); returns how many."""
    return scheme.records.filter(status=STATUS).update(status=PENDING)


def waiting_by_period(records):
    """[{"period", "count", "amount"}] of a SyncRecord queryset's records waiting for a period, oldest first."""
    rows = (records.filter(status=STATUS).values("waiting_period")
            .annotate(count=Count("pk"), amount=Sum("amount")).order_by("waiting_period"))
    return [{"period": row["waiting_period"] or "—", "count": row["count"], "amount": row["amount"] or 0}
            for row in rows]
