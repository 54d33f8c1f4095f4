"""Sandbox-only JSON doors for tests and benchmarks in other processes: fault settings and the call log."""

import json

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.dingtalk.models import QuotaUsage, SandboxSettings
from sandbox.dingtalk.views.gate import injector, reset_counters

KNOBS = [
    "seed", "latency_ms", "qps_limit", "server_error_rate", "timeout_rate", "timeout_seconds", "token_ttl",
    "expire_token_every", "token_error_style", "monthly_quota", "mobile_visible", "email_visible",
]


def settings_dict(settings):
    return {name: getattr(settings, name) for name in KNOBS}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def faults(request):
    """GET: the current knobs. POST a JSON object of knobs to change (`"reset": true` restores the
    defaults first, `"clear_calls": true` empties the call log, `"clear_quota": true` this month's count)."""
    settings = SandboxSettings.current()
    if request.method == "POST":
        try:
            changes = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "body must be a JSON object"}, status=400)
        settings = apply_changes(settings, changes)
        if isinstance(settings, str):
            return JsonResponse({"error": settings}, status=400)
    return JsonResponse(settings_dict(settings))


def apply_changes(settings, changes):
    """Save the changed knobs and restart the seeded fault sequence; an error text if a knob is unknown."""
    unknown = set(changes) - set(KNOBS) - {"reset", "clear_calls", "clear_quota"}
    if unknown:
        return f"unknown knobs: {', '.join(sorted(unknown))}"
    if changes.get("reset"):
        SandboxSettings.objects.filter(pk=settings.pk).delete()
        settings = SandboxSettings.current()
    for name in KNOBS:
        if name in changes:
            setattr(settings, name, changes[name])
    try:
        settings.full_clean()
    except ValidationError as error:
        return json.dumps(error.message_dict, ensure_ascii=False)
    settings.save()
    injector.reset(settings)
    reset_counters()
    if changes.get("clear_calls"):
        injector.log.clear()
    if changes.get("clear_quota"):
        QuotaUsage.objects.all().delete()
    return settings


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def calls(request):
    """GET ?path=…&outcome=…&window=1: counts and the busiest window; `&list=1` adds the entries.
    DELETE empties the log."""
    if request.method == "DELETE":
        injector.log.clear()
        return JsonResponse({"cleared": True})
    path, outcome = request.GET.get("path", ""), request.GET.get("outcome") or None
    window = float(request.GET.get("window", 1.0))
    entries = injector.log.entries(path)
    outcomes = {}
    for _time, _path, result in entries:
        outcomes[result] = outcomes.get(result, 0) + 1
    body = {"count": len(entries), "outcomes": outcomes,
            "max_in_window": injector.log.max_in_window(path, outcome, window), "window": window}
    if request.GET.get("list"):
        body["calls"] = [[round(t, 6), p, r] for t, p, r in injector.log.entries(path, outcome)]
    return JsonResponse(body)
