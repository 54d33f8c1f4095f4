"""Sandbox-only JSON doors for tests and benchmarks in other processes: fault settings, the call log,
deciding approvals, the event push and the messages received."""

import json

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox.dingtalk import approvals, inbox, push
from sandbox.dingtalk.models import App, ApprovalInstance, PushedEvent, QuotaUsage, SandboxSettings
from sandbox.dingtalk.views.gate import injector, reset_counters

KNOBS = [
    "seed", "latency_ms", "qps_limit", "server_error_rate", "timeout_rate", "timeout_seconds", "token_ttl",
    "expire_token_every", "token_error_style", "monthly_quota", "mobile_visible", "email_visible",
    "event_duplicate_rate", "stream_ack_timeout", "stream_ping_seconds", "stream_rotate_seconds",
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
    """GET ?path=…&outcome=…&window=1: counts and the busiest window; `&list=1` adds the entries, `&reads=1`
    how many instances the detail APIs served and which of them more than once.
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
    if request.GET.get("reads"):
        reads = injector.log.read_counts()
        body["detail_reads"] = {"instances": len(reads), "reads": sum(reads.values()),
                                "read_twice": sorted(key for key, n in reads.items() if n > 1)}
    return JsonResponse(body)


def _body(request):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    return body if isinstance(body, dict) else None


@csrf_exempt
@require_POST
def decide(request, instance_id):
    """POST {"action": "agree" | "refuse" | "terminate" | "cancel", "remark": "…"}: what the approver's (or the
    originator's) tap does, through the same path as the admin actions, events included."""
    body = _body(request)
    if body is None or body.get("action") not in approvals.Action.ALL:
        return JsonResponse({"error": f"action must be one of {', '.join(approvals.Action.ALL)}"}, status=400)
    instance = get_object_or_404(ApprovalInstance, process_instance_id=instance_id)
    changed = approvals.change_state(instance, body["action"], remark=str(body.get("remark") or ""))
    instance.refresh_from_db()
    return JsonResponse({"changed": changed, "status": instance.status, "result": instance.result,
                         "finish_time": instance.finish_time.isoformat() if instance.finish_time else None})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def events(request):
    """GET ?instance=…&type=…: the pushed events, oldest first. POST {"push_mode": "http" | "stream" | "",
    "callback_url": "…", "verify": true, "redeliver": [event ids]} configures the app's push (`app_key` picks
    the app when there are several), checks the URL as the console does, or sends events again in that order."""
    if request.method == "GET":
        rows = PushedEvent.objects.order_by("pk")
        if request.GET.get("instance"):
            rows = rows.filter(process_instance_id=request.GET["instance"])
        if request.GET.get("type"):
            rows = rows.filter(event_type=request.GET["type"])
        fields = ["event_id", "event_type", "process_instance_id", "summary", "channel", "status", "attempts",
                  "deliveries", "last_error"]
        return JsonResponse({"events": list(rows.values(*fields))})
    body = _body(request)
    if body is None:
        return JsonResponse({"error": "body must be a JSON object"}, status=400)
    apps = App.objects.filter(app_key=body["app_key"]) if body.get("app_key") else App.objects.all()
    app = apps.order_by("pk").first()
    if app is None:
        return JsonResponse({"error": "no such app"}, status=404)
    answer = configure(app, body)
    if isinstance(answer, str):
        return JsonResponse({"error": answer}, status=400)
    return JsonResponse(answer)


def configure(app, body):
    if "push_mode" in body:
        app.push_mode = body["push_mode"] or ""
    if "callback_url" in body:
        app.callback_url = body["callback_url"] or ""
    try:
        app.full_clean()
    except ValidationError as error:
        return json.dumps(error.message_dict, ensure_ascii=False)
    app.save(update_fields=["push_mode", "callback_url"])
    answer = {"app_key": app.app_key, "push_mode": app.push_mode, "callback_url": app.callback_url}
    if body.get("verify"):
        answer["verified"] = push.verify_url(app, app.callback_url)
    if body.get("redeliver"):
        answer["redelivered"] = push.redeliver([str(event_id) for event_id in body["redeliver"]])
    return answer


@require_GET
def messages(request):
    """GET ?since=<ms>: every robot message and work notice received since then, oldest first."""
    try:
        since = int(request.GET.get("since") or 0)
    except ValueError:
        return JsonResponse({"error": "since must be a time in milliseconds"}, status=400)
    return JsonResponse({"messages": inbox.messages(since)}, json_dumps_params={"ensure_ascii": False})
