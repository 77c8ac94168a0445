"""Reads of conversations and messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from conversations.models import (
    UNANSWERED,
    AuditRecord,
    Conversation,
    ConversationStatus,
    Message,
    Sender,
    TrackerErasure,
)


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


def tracker_erasures_pending(*, limit: int) -> list[uuid.UUID]:
    """Conversations erased in the portal whose tracker the bot may still hold, oldest first."""
    return list(TrackerErasure.objects.order_by("requested_at", "id").values_list("conversation_id", flat=True)[:limit])


# --- personal data (conversations/privacy.py) ---------------------------------------------------------------


def customer_waiting() -> Q:
    """Conversations a customer is waiting on (queued, with an agent, or a message the bot has not answered):
    never erased, whatever their age."""
    unanswered = Message.objects.filter(
        conversation=OuterRef("pk"), sender=Sender.CUSTOMER, delivery__in=UNANSWERED
    )
    return Q(status__in=[ConversationStatus.QUEUED, ConversationStatus.ASSIGNED]) | Q(Exists(unanswered))


def inactive_since(cutoff: datetime) -> QuerySet[Conversation]:
    """Conversations with no activity since `cutoff` (no change of status, no message at or after it) that no
    customer is waiting on."""
    recent = Message.objects.filter(conversation=OuterRef("pk"), created_at__gte=cutoff)
    return (
        Conversation.objects.filter(status_changed_at__lt=cutoff)
        .exclude(Exists(recent))
        .exclude(customer_waiting())
    )


def customer_conversations(*, customer_id: str = "", conversation_id: uuid.UUID | None = None) -> list[Conversation]:
    """A customer's conversations for their data-protection request: every one of the verified customer
    `customer_id`, or the one `conversation_id` (an anonymous visitor's); oldest first, each with
    `message_count`, `handoff_count` and `waiting` (a customer waits on it: it cannot be erased yet)."""
    if customer_id:
        found = Conversation.objects.filter(customer_id=customer_id)
    elif conversation_id is not None:
        found = Conversation.objects.filter(pk=conversation_id)
    else:
        return []
    waiting = set(found.filter(customer_waiting()).values_list("pk", flat=True))
    counted = found.annotate(
        message_count=Count("messages", distinct=True), handoff_count=Count("handoffs", distinct=True)
    )
    conversations: list[Conversation] = [c for c in counted.order_by("created_at", "id")]
    for conversation in conversations:
        conversation.waiting = conversation.pk in waiting  # type: ignore[attr-defined]
    return conversations
