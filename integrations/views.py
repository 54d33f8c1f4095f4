"""DingTalk's HTTP callback: one URL per DingTalk connection, answered fast; the work is queued."""

import logging

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import callbacks, events, reasons
from integrations.models import Connection, DingTalkEvent

logger = logging.getLogger("integrations.events")


@csrf_exempt
@require_POST
def dingtalk_callback(request, connection_id):
    connection = get_object_or_404(Connection, pk=connection_id, kind=Connection.Kind.DINGTALK)
    address = request.META.get("REMOTE_ADDR")
    body, signature = b"", request.GET.get("signature") or request.GET.get("msg_signature") or ""
    if {"callback_token", "callback_aes_key"} & set(connection.undecryptable_secrets()):
        # Not "not set up": the secrets are there but the key is lost. DingTalk retries a 503 later.
        why = reasons.because("lost_key", name=connection.name, model=connection._meta.label_lower,
                              fields=list(connection.undecryptable_secrets()))
        events.reject(connection, DingTalkEvent.Channel.CALLBACK, why, signature, address)
        logger.error("callback for connection %s refused: %s", connection.pk, why["reason"])
        return JsonResponse({"errcode": 900013, "errmsg": "the portal cannot decrypt its callback secrets"},
                            status=503)
    if not (connection.callback_token and connection.callback_aes_key):
        raise Http404("This connection has no callback token and AES key.")
    try:
        body = callbacks.read_body(request)
        push = callbacks.Push.from_request(request, body)
        if not connection.enabled:
            raise callbacks.Refused(403, 900012, "the connection is disabled")
        message = callbacks.open_push(connection, push)
    except callbacks.Refused as refusal:
        callbacks.record_refusal(connection, refusal, signature[:64], address, body)
        logger.warning("callback for connection %s refused: %s", connection.pk, refusal.reason)
        return JsonResponse({"errcode": refusal.code, "errmsg": refusal.reason}, status=refusal.status)
    events.receive(connection, events.from_callback(message, push.signature, address))
    return JsonResponse(callbacks.reply(connection))
