"""Reads of conversations and messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from conversations.models import AuditRecord, Conversation, Message


def conversation_get(conversation_id: uuid.UUID | str) -> Conversation | None:
    return (
        Conversation.objects.select_related("assigned_agent__agent_profile")
        .filter(pk=conversation_id)
        .first()
    )


def conversation_exists(conversation_id: uuid.UUID | str) -> bool:
    return Conversation.objects.filter(pk=conversation_id).exists()


def conversation_messages(conversation_id: uuid.UUID | str, after_seq: int = 0) -> list[Message]:
    """The conversation's messages numbered after `after_seq` (0: every one), in their order."""
    return list(
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .select_related("agent__agent_profile")
        .order_by("seq")
    )


def conversation_transcript(conversation_id: uuid.UUID | str) -> list[tuple[str, str, datetime]]:
    """(sender, text, created_at) of every message, oldest first: the context packet's transcript."""
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("sender", "text", "created_at")
    )


AUDIT_PAGE_SIZE = 200


def audit_records(
    *, conversation_id: uuid.UUID | None = None, actor_id: int | None = None, limit: int = AUDIT_PAGE_SIZE
) -> list[AuditRecord]:
    """The audit trail newest first, of one conversation and/or by one user if given."""
    records = AuditRecord.objects.select_related("actor", "subject")
    if conversation_id is not None:
        records = records.filter(conversation_id=conversation_id)
    if actor_id is not None:
        records = records.filter(actor_id=actor_id)
    return list(records.order_by("-at", "-id")[:limit])
