"""A small JSON API for tests and benchmarks in other processes: faults, call log, bill counts, stock."""

import json
from collections import Counter

from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.kingdee import trade
from sandbox.kingdee.metadata import form_for
from sandbox.kingdee.models import FormRecord, KingdeeFaults
from sandbox.kingdee.views import injector

RATE_FIELDS = ("server_error_rate", "timeout_rate", "session_loss_rate", "throttle_rate", "unavailable_rate",
               "item_error_rate")
COUNT_FIELDS = ("seed", "latency_ms", "qps_limit", "session_loss_every")
KNOBS = RATE_FIELDS + COUNT_FIELDS + ("timeout_seconds",)


def _knobs(settings):
    return {name: getattr(settings, name) for name in KNOBS}


@csrf_exempt
def faults(request):
    """GET the knobs; POST a JSON object of knobs to change (`{"reset": true}` restores the defaults)."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    settings = KingdeeFaults.current()
    if request.method == "POST":
        try:
            changes = json.loads(request.body or b"{}")
            _apply(settings, changes)
        except (ValueError, TypeError) as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        settings.save()
        injector.reset(settings)
    return JsonResponse(_knobs(settings))


def _apply(settings, changes):
    if not isinstance(changes, dict):
        raise ValueError("send a JSON object")
    if changes.pop("reset", False):
        for name in KNOBS:
            setattr(settings, name, KingdeeFaults._meta.get_field(name).default)
    unknown = sorted(set(changes) - set(KNOBS))
    if unknown:
        raise ValueError(f"unknown knobs: {', '.join(unknown)}")
    for name, value in changes.items():
        value = float(value) if name in RATE_FIELDS or name == "timeout_seconds" else int(value)
        if name in RATE_FIELDS and not 0 <= value <= 1:
            raise ValueError(f"{name} must be between 0 and 1")
        if value < 0:
            raise ValueError(f"{name} must not be negative")
        setattr(settings, name, value)


@csrf_exempt
def calls(request):
    """GET the calls answered by this process (`?service=Save` narrows); DELETE or POST clears them."""
    if request.method in ("DELETE", "POST"):
        injector.log.clear()
        return JsonResponse({"cleared": True})
    entries = injector.log.entries(request.GET.get("service", ""), request.GET.get("outcome") or None)
    rows = [{"t": t, "service": service, "outcome": outcome} for t, service, outcome in entries]
    return JsonResponse({"count": len(rows), "outcomes": Counter(r["outcome"] for r in rows), "calls": rows})


def bills(request):
    """How many bills of a form each FTHIRDBILLNO has (`?form=AP_PAYBILL`, `&third_bill_no=` to narrow)."""
    form = form_for(request.GET.get("form") or "AP_PAYBILL")
    records = FormRecord.objects.filter(form_id=form.form_id)
    if request.GET.get("third_bill_no"):
        records = records.filter(third_bill_no=request.GET["third_bill_no"])
    counts = Counter(records.values_list("third_bill_no", flat=True))
    statuses = Counter(records.values_list("document_status", flat=True))
    return JsonResponse({
        "form": form.form_id, "total": sum(counts.values()), "by_status": statuses,
        "by_third_bill_no": counts, "duplicates": {key: n for key, n in counts.items() if key and n > 1},
    }, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
def stock(request):
    """POST `{"material": number, "stock": number, "qty": n}`: set an on-hand quantity (the row is created if
    missing), as a stock bill's audit would. Answers the inventory row."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict) or not all(body.get(key) not in (None, "") for key in ("material", "stock", "qty")):
            raise trade.StockError("请提供 material、stock 和 qty")
        row = trade.set_stock(body["material"], body["stock"], body["qty"])
    except (ValueError, trade.StockError) as exc:
        return JsonResponse({"error": str(exc)}, status=400, json_dumps_params={"ensure_ascii": False})
    return JsonResponse(row, json_dumps_params={"ensure_ascii": False})
