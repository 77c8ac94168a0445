"""The customer's session token: signed by the portal, it names one conversation and is the customer's only
credential. Unguessable (HMAC with SECRET_KEY) and it expires (WIDGET_TOKEN_MAX_AGE_SECONDS)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing

SESSION_SALT = "switchboard.widget.session"


def session_token(conversation_id: uuid.UUID) -> str:
    return signing.dumps({"conversation": str(conversation_id)}, salt=SESSION_SALT)


def conversation_id_from_token(token: str) -> uuid.UUID | None:
    """The conversation a token names, or None for a missing, forged, malformed or expired token."""
    try:
        data = signing.loads(token, salt=SESSION_SALT, max_age=settings.WIDGET_TOKEN_MAX_AGE_SECONDS)
        return uuid.UUID(data["conversation"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
