"""Daily reconciliation per scheme: what DingTalk approved against what Kingdee holds, day by day.

Approved: the ledger's records the source approved (everything but skipped ones and those still waiting for
approval), by the day the approval finished (Beijing time), with the amount the source gave. Booked: the bills
(or vouchers) found in Kingdee right now by the scheme's dedupe value — one ExecuteBillQuery per 200 claims —
with their amounts. A day whose totals differ lists the claims behind the difference (missing in Kingdee,
another amount, or in Kingdee though the ledger has it as not booked).

With the scheme's `reconcile_daily`, a django-q2 schedule (`integrations.reconciliation.<scheme id>`, cron at
`reconcile_hour` in the portal's time zone, kept by `Scheme.sync_reconciliation_schedule`) runs `push_differences`
every day: the last 7 days, sent to the
scheme's alert robot only when a day differs — a quiet day sends nothing.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext

from integrations.adapters.kingdee import CVN, quote
from integrations.clients.errors import RemoteError
from integrations.engine import build_adapters
from integrations.models import SyncRecord

BEIJING = ZoneInfo("Asia/Shanghai")
Status = SyncRecord.Status
NOT_APPROVED = (Status.SKIPPED, Status.WAITING)
CHUNK = 200
DAILY_DAYS = 7
# The amount each form carries, as ExecuteBillQuery names it (a voucher: its debit lines, summed).
AMOUNT_KEYS = {"AP_PAYBILL": "FPAYAMOUNTFOR", "AP_OTHERPAYABLE": "FTOTALAMOUNTFOR_H", "GL_VOUCHER": "FDEBIT",
               "AR_RECEIVEBILL": "FRECEIVEAMOUNTFOR"}
ZERO = Decimal("0.00")


class Unavailable(Exception):
    """Kingdee or the robot could not be reached; `message` is the remote's own words."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class Claim:
    record_id: int
    key: str
    title: str
    number: str
    status: str
    approved: Decimal
    booked: Decimal | None
    bill: str

    @property
    def difference(self):
        return self.approved - (self.booked or ZERO)

    @property
    def problem(self):
        if self.booked is None:
            return gettext("not in Kingdee")
        return gettext("amount differs")


@dataclass
class Day:
    day: date
    approved: Decimal = ZERO
    approved_count: int = 0
    booked: Decimal = ZERO
    booked_count: int = 0
    claims: list = field(default_factory=list)  # the claims behind a difference

    @property
    def difference(self):
        return self.approved - self.booked


def approval_day(record):
    finished = (record.source_data or {}).get("finish_time") if isinstance(record.source_data, dict) else ""
    if finished:
        try:
            return datetime.fromisoformat(str(finished)).astimezone(BEIJING).date()
        except ValueError:
            pass
    moment = record.source_time or record.created_at
    return timezone.localtime(moment, BEIJING).date()


def daily(scheme, days=7, today=None):
    """[Day] for the last `days` days up to `today` (Beijing), newest first. Raises Unavailable when Kingdee
    cannot be asked."""
    today = today or timezone.localtime(timezone.now(), BEIJING).date()
    first = today - timedelta(days=days - 1)
    horizon = datetime.combine(first - timedelta(days=60), datetime.min.time(), BEIJING)
    records = [record for record in SyncRecord.objects.filter(scheme=scheme, source_time__gte=horizon)
               .exclude(status__in=NOT_APPROVED).only("id", "source_key", "title", "source_number", "status",
                                                       "amount", "source_data", "source_time", "created_at",
                                                       "target_number")
               if first <= approval_day(record) <= today]
    try:
        booked = booked_amounts(scheme, [record.source_key for record in records])
    except RemoteError as error:
        raise Unavailable(error.message) from error
    by_day = {first + timedelta(days=offset): Day(first + timedelta(days=offset)) for offset in range(days)}
    for record in records:
        day = by_day[approval_day(record)]
        approved = record.amount or ZERO
        day.approved += approved
        day.approved_count += 1
        amount, number = booked.get(record.source_key, (None, ""))
        if amount is not None:
            day.booked += amount
            day.booked_count += 1
        if amount != approved:
            day.claims.append(Claim(record.pk, record.source_key, record.title, record.source_number, record.status,
                                    approved, amount, number or record.target_number))
    return sorted(by_day.values(), key=lambda day: day.day, reverse=True)


def booked_amounts(scheme, keys):
    """{source key: (amount, bill number)} of the bills Kingdee holds for these keys."""
    _source, target = build_adapters(scheme)
    form_id = target.params.get("form_id") or ""
    amount_key = AMOUNT_KEYS.get(form_id.upper())
    if not amount_key or not keys:
        return {}
    found = {}
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        if form_id.upper() == "GL_VOUCHER":
            rows = target.client.execute_bill_query(
                form_id, ["FEXPLANATION", amount_key, "FBillNo"], limit=10000,
                filter_string=" or ".join(f"FEXPLANATION like {quote('%CVN:' + key + '%')}" for key in chunk))
            for explanation, amount, number in rows:
                match = CVN.search(str(explanation or ""))
                if match and match.group(1) in chunk:
                    total, _number = found.get(match.group(1), (ZERO, ""))
                    found[match.group(1)] = (total + _decimal(amount), str(number))
        else:
            field_ = scheme.dedupe_field
            rows = target.client.execute_bill_query(
                form_id, [field_, amount_key, "FBillNo"], limit=10000,
                filter_string=f"{field_} in ({','.join(quote(key) for key in chunk)})")
            seen = set()
            for key, amount, number in rows:
                if (key, number) in seen:  # one row per entry when the form repeats the header
                    continue
                seen.add((key, number))
                total, _number = found.get(str(key), (ZERO, ""))
                found[str(key)] = (total + _decimal(amount), str(number))
    return found


def _decimal(value):
    try:
        return Decimal(str(value or 0)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return ZERO


def markdown(scheme, result):
    """The reconciliation as robot markdown: each day's totals, the claims behind a difference."""
    lines = [f"### {gettext('Daily reconciliation')}：{scheme.name}"]
    for day in result:
        mark = "✅" if not day.difference and not day.claims else "⚠️"
        lines.append(f"- {mark} {day.day.isoformat()}：{gettext('approved')} {day.approved:,.2f}（{day.approved_count}）"
                     f"，{gettext('booked')} {day.booked:,.2f}（{day.booked_count}），{gettext('difference')} "
                     f"{day.difference:,.2f}")
        for claim in day.claims[:10]:
            lines.append(f"  - {claim.title} {claim.number}：{claim.problem} {claim.difference:,.2f}")
    return "\n".join(lines)


def push(scheme, result):
    """Send the reconciliation to the scheme's alert robot (DingTalk group)."""
    from integrations.clients import client_for

    try:
        client_for(scheme.alert_connection).send_markdown(gettext("Daily reconciliation"), markdown(scheme, result))
    except RemoteError as error:
        raise Unavailable(error.message) from error


def push_differences(scheme, days=DAILY_DAYS, today=None):
    """The scheduled daily job: reconcile the last `days` days and send the days that differ to the robot.
    Returns the days sent (none: nothing was sent). Raises Unavailable when Kingdee or the robot fails."""
    differing = [day for day in daily(scheme, days=days, today=today) if day.difference or day.claims]
    if differing and scheme.alert_connection_id:
        push(scheme, differing)
    return differing if scheme.alert_connection_id else []

