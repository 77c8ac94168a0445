"""HTTP endpoints of conversations: the widget's session API."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from conversations import identity, limits, services
from conversations.sessions import session_token

logger = logging.getLogger(__name__)

# Far above any real JWT (a few hundred bytes to 2 KB): anything longer is refused before it is parsed.
MAX_BODY_BYTES = 8192


def _refused(status: int, error: str, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": error, "detail": detail, **extra}, status=status)


def _assertion_of(request: HttpRequest) -> str | None:
    """The request's `customer_assertion`, from a JSON object body or form fields (None: none given, an
    anonymous session), or ValueError for a body that says something else."""
    if len(request.body) > MAX_BODY_BYTES:
        raise ValueError(f"the body is over {MAX_BODY_BYTES} bytes")
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise ValueError("the body is not JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body is not a JSON object")
        assertion = body.get("customer_assertion")
    else:
        assertion = request.POST.get("customer_assertion")
    if assertion is not None and not (isinstance(assertion, str) and assertion):
        raise ValueError("customer_assertion must be a non-empty string (the bank's signed JWT) or absent")
    return assertion


@csrf_exempt  # no cookie is read or set: the answer is a fresh conversation and its bearer token
@require_POST
def start_widget_session(request: HttpRequest) -> JsonResponse:
    """POST /api/widget/sessions, optionally {"customer_assertion": JWT} → 201 {"conversation_id", "token",
    "customer": {"verified", "id"}}: a new conversation with the bot, for the customer the bank's assertion
    names (docs/protocol.md). 400 for a body that is not that, 401 for an assertion that fails verification
    (never an anonymous session instead); 429 with Retry-After once the client's address has started too many."""
    client_key = limits.request_client_key(request)
    try:
        limits.check("sessions_per_address", client_key)
    except limits.RateLimited as exc:
        response = _refused(429, "rate_limited", str(exc), retry_after=exc.retry_after)
        response["Retry-After"] = str(exc.retry_after)
        return response
    try:
        assertion = _assertion_of(request)
    except ValueError as exc:
        return _refused(400, "invalid_request", str(exc))
    customer_id = ""
    if assertion is not None:
        try:
            customer_id = identity.verified_customer_id(assertion)
        except identity.AssertionRefused as exc:
            logger.warning("customer assertion refused: %s", exc)
            return _refused(401, "invalid_assertion", str(exc))
    conversation = services.conversation_start(client_key=client_key, customer_id=customer_id)
    return JsonResponse(
        {
            "conversation_id": str(conversation.pk),
            "token": session_token(conversation.pk),
            "customer": {"verified": conversation.customer_verified, "id": conversation.customer_id or None},
        },
        status=201,
    )
