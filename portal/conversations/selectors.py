"""Reads of conversations and messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from conversations.models import Conversation, Message


def conversation_get(conversation_id: uuid.UUID | str) -> Conversation | None:
    return (
        Conversation.objects.select_related("assigned_agent__agent_profile")
        .filter(pk=conversation_id)
        .first()
    )


def conversation_exists(conversation_id: uuid.UUID | str) -> bool:
    return Conversation.objects.filter(pk=conversation_id).exists()


def conversation_messages(conversation_id: uuid.UUID | str) -> list[Message]:
    """Every message of the conversation, oldest first."""
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .select_related("agent__agent_profile")
        .order_by("created_at", "id")
    )


def conversation_transcript(conversation_id: uuid.UUID | str) -> list[tuple[str, str, datetime]]:
    """(sender, text, created_at) of every message, oldest first: the context packet's transcript."""
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("created_at", "id")
        .values_list("sender", "text", "created_at")
    )
