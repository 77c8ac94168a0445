"""HTTP endpoints of conversations: the widget's session API."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conversations import services
from conversations.sessions import session_token


@csrf_exempt  # no cookie is read or set: the answer is a fresh conversation and its bearer token
@require_POST
def start_widget_session(request: HttpRequest) -> JsonResponse:
    """POST /api/widget/sessions → {"conversation_id", "token"}: a new conversation with the bot."""
    conversation = services.conversation_start()
    return JsonResponse(
        {"conversation_id": str(conversation.pk), "token": session_token(conversation.pk)}, status=201
    )
