"""HTTP endpoints of conversations: the widget's session API."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conversations import limits, services
from conversations.sessions import session_token


@csrf_exempt  # no cookie is read or set: the answer is a fresh conversation and its bearer token
@require_POST
def start_widget_session(request: HttpRequest) -> JsonResponse:
    """POST /api/widget/sessions → {"conversation_id", "token"}: a new conversation with the bot; 429 with
    Retry-After once the client's address has started too many (settings.RATE_LIMITS)."""
    client_key = limits.request_client_key(request)
    try:
        limits.check("sessions_per_address", client_key)
    except limits.RateLimited as exc:
        response = JsonResponse(
            {"error": "rate_limited", "detail": str(exc), "retry_after": exc.retry_after}, status=429
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
    conversation = services.conversation_start(client_key=client_key)
    return JsonResponse(
        {"conversation_id": str(conversation.pk), "token": session_token(conversation.pk)}, status=201
    )
