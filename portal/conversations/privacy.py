"""A customer's data leaving the portal: exported to them, erased on request, erased when retention runs out
(docs/privacy.md). The one writer of erasures and of `exported` / `erased` audit records.

An erasure deletes the conversation with everything that cascades from it (messages, handoffs and their context
packets, the NLU records of its messages and their reviews) and, in the same transaction, records that the bot
still holds its tracker (`TrackerErasure`) and who erased it (an `erased` audit record). The bot's tracker is
erased after commit, by `tasks.erase_bot_trackers`, which keeps the record until the bot confirms. The audit
trail itself is kept whole: it holds ids, no customer content (docs/privacy.md says what each row keeps).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone
from pydantic import BaseModel, ConfigDict

from agents.models import display_name
from conversations import events
from conversations.audit import audit_record
from conversations.selectors import customer_waiting, inactive_since
from conversations.models import (
    AuditAction,
    Conversation,
    Handoff,
    Message,
    TrackerErasure,
)

ErasureReason = Literal["request", "retention"]


class CustomerWaiting(Exception):
    """A customer waits on the conversation (queued, with an agent, or a message the bot has not answered yet):
    it is not erased until that is over."""


# --- erasure ------------------------------------------------------------------------------------------------


@transaction.atomic
def conversation_erase(*, conversation_id: uuid.UUID, actor: Any) -> bool:
    """Erase one conversation at a supervisor's request (the data-protection page). False if it was already
    erased (nothing is done, nothing recorded); CustomerWaiting if a customer waits on it."""
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        return False
    if Conversation.objects.filter(customer_waiting(), pk=conversation_id).exists():
        raise CustomerWaiting(str(conversation_id))
    _erase([conversation.pk], actor=actor, reason="request")
    return True


@transaction.atomic
def conversations_erase_expired(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Erase up to `limit` (RETENTION_BATCH_SIZE) conversations inactive for RETENTION_DAYS, oldest first, in
    one transaction; how many. Rows another transaction holds are skipped, left for the next run."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETENTION_DAYS)
    ids = list(
        inactive_since(cutoff)
        .select_for_update(skip_locked=True)
        .order_by("status_changed_at", "id")
        .values_list("pk", flat=True)[: limit or settings.RETENTION_BATCH_SIZE]
    )
    _erase(ids, actor=None, reason="retention")
    return len(ids)


def _erase(conversation_ids: list[uuid.UUID], *, actor: Any, reason: ErasureReason) -> None:
    """Delete the conversations (locked by the caller), and record the bot's erasure to do and the audit row."""
    if not conversation_ids:
        return
    messages = _counts(Message.objects.filter(conversation_id__in=conversation_ids))
    handoffs = _counts(Handoff.objects.filter(conversation_id__in=conversation_ids))
    Conversation.objects.filter(pk__in=conversation_ids).delete()
    TrackerErasure.objects.bulk_create(
        [TrackerErasure(conversation_id=pk) for pk in conversation_ids], ignore_conflicts=True
    )
    for pk in conversation_ids:
        audit_record(
            actor=actor,
            action=AuditAction.ERASED,
            conversation_id=pk,
            detail={"reason": reason, "messages": messages.get(pk, 0), "handoffs": handoffs.get(pk, 0)},
        )
        events.conversation_erased(pk)
    transaction.on_commit(_queue_tracker_erasure)


def _counts(rows: QuerySet[Any]) -> dict[uuid.UUID, int]:
    return dict(rows.order_by().values("conversation_id").annotate(n=Count("id")).values_list("conversation_id", "n"))


def _queue_tracker_erasure() -> None:
    from conversations.tasks import erase_bot_trackers  # tasks imports this module

    erase_bot_trackers.delay()


def tracker_erasure_done(*, conversation_id: uuid.UUID) -> None:
    """The bot confirmed it holds nothing more of the conversation."""
    TrackerErasure.objects.filter(conversation_id=conversation_id).delete()


def tracker_erasure_failed(*, conversation_id: uuid.UUID, detail: str) -> None:
    TrackerErasure.objects.filter(conversation_id=conversation_id).update(
        attempts=F("attempts") + 1, last_attempt_at=timezone.now(), last_error=detail[:1000]
    )


# --- export -------------------------------------------------------------------------------------------------


class ExportShape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExportedMessage(ExportShape):
    seq: int
    sender: Literal["customer", "bot", "agent", "system"]
    agent: str | None  # the name the customer saw, for an agent's message
    text: str
    created_at: datetime


class ExportedHandoff(ExportShape):
    reason: str
    priority: str
    queued_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    outcome: str
    context: dict[str, Any]  # the context packet an agent was shown (docs/context-packet.md)


class ExportedConversation(ExportShape):
    id: uuid.UUID
    customer_id: str  # the bank's id of the verified customer; blank for an anonymous visitor
    status: str
    created_at: datetime
    resolved_at: datetime | None
    messages: list[ExportedMessage]
    handoffs: list[ExportedHandoff]


class CustomerDataExport(ExportShape):
    """What a customer gets of their data (docs/privacy.md, "Export"). `version` changes with the shape."""

    version: Literal[1] = 1
    exported_at: datetime
    conversations: list[ExportedConversation]


@transaction.atomic
def customer_data_export(*, conversation_ids: list[uuid.UUID], actor: Any) -> CustomerDataExport:
    """The conversations' data as the customer may have it, and an `exported` audit record for each."""
    conversations = list(
        Conversation.objects.filter(pk__in=conversation_ids)
        .prefetch_related("handoffs")
        .order_by("created_at", "id")
    )
    exported = []
    for conversation in conversations:
        messages = list(
            Message.objects.filter(conversation=conversation).select_related("agent__agent_profile").order_by("seq")
        )
        handoffs = sorted(conversation.handoffs.all(), key=lambda h: (h.queued_at, h.pk))
        exported.append(
            ExportedConversation(
                id=conversation.pk,
                customer_id=conversation.customer_id,
                status=conversation.status,
                created_at=conversation.created_at,
                resolved_at=conversation.resolved_at,
                messages=[
                    ExportedMessage(
                        seq=m.seq,
                        sender=m.sender,
                        agent=display_name(m.agent) if m.agent is not None else None,
                        text=m.text,
                        created_at=m.created_at,
                    )
                    for m in messages
                ],
                handoffs=[
                    ExportedHandoff(
                        reason=h.reason,
                        priority=h.priority,
                        queued_at=h.queued_at,
                        claimed_at=h.claimed_at,
                        closed_at=h.closed_at,
                        outcome=h.outcome,
                        context=h.context,
                    )
                    for h in handoffs
                ],
            )
        )
        audit_record(
            actor=actor,
            action=AuditAction.EXPORTED,
            conversation_id=conversation.pk,
            detail={"messages": len(messages), "handoffs": len(handoffs)},
        )
    return CustomerDataExport(exported_at=timezone.now(), conversations=exported)
