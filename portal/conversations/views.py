"""HTTP endpoints of conversations: the widget's session API and the internal event relay."""

from __future__ import annotations

from channels.layers import get_channel_layer
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conversations import events, services
from conversations.sessions import session_token


@csrf_exempt  # no cookie is read or set: the answer is a fresh conversation and its bearer token
@require_POST
def start_widget_session(request: HttpRequest) -> JsonResponse:
    """POST /api/widget/sessions → {"conversation_id", "token"}: a new conversation with the bot."""
    conversation = services.conversation_start()
    return JsonResponse(
        {"conversation_id": str(conversation.pk), "token": session_token(conversation.pk)}, status=201
    )


@csrf_exempt  # authenticated by its SECRET_KEY signature, not by a session
@require_POST
async def relay_event(request: HttpRequest) -> HttpResponse:
    """POST /internal/events: a worker's event, signed, sent on to this process's channel layer (events.py)."""
    try:
        group, event = events.open_relay_envelope(request.body.decode("utf-8"))
    except signing.BadSignature:
        return HttpResponseForbidden("bad or expired signature")
    except (UnicodeDecodeError, ValueError):
        return HttpResponseBadRequest("not a relay envelope")
    await get_channel_layer().group_send(group, event)
    return HttpResponse(status=204)
