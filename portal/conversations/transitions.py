"""The conversation's state machine, and the only code that writes its state.

    bot ──queue──▶ queued ──claim──▶ assigned ──resolve──▶ resolved (final)
     ▲               │                 ▲ │ ▲
     │               └────reassign─────┘ └─┘ reassign: a supervisor gives it to another agent, or takes it over
     └─────────────hand back─────────────┘

Each transition locks the conversation row (two agents cannot both claim), persists the new state together with
its handoff and its notices in one transaction, and publishes its events only once that commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents import roles
from agents.models import display_name
from contracts.handoff import HandoffRequest
from conversations import events, limits, services
from conversations.audit import audit_record
from conversations.context import ContextPacket
from conversations.models import AuditAction, Conversation, ConversationStatus, Handoff, Outcome

Status = ConversationStatus

ALLOWED: dict[str, frozenset[str]] = {
    Status.BOT: frozenset({Status.QUEUED}),
    Status.QUEUED: frozenset({Status.ASSIGNED}),
    Status.ASSIGNED: frozenset({Status.RESOLVED, Status.BOT}),
    Status.RESOLVED: frozenset(),
}


class TransitionError(Exception):
    """A state change that may not happen now."""


class IllegalTransition(TransitionError):
    def __init__(self, conversation_id: uuid.UUID, current: str, target: str) -> None:
        super().__init__(f"conversation {conversation_id} cannot go from {current} to {target}")
        self.conversation_id = conversation_id
        self.current = current
        self.target = target


class NotAssignedAgent(TransitionError):
    def __init__(self, conversation_id: uuid.UUID) -> None:
        super().__init__(f"conversation {conversation_id} is not assigned to this agent")


def _locked(conversation_id: uuid.UUID) -> Conversation:
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("assigned_agent")
        .get(pk=conversation_id)
    )


def _move(conversation: Conversation, target: str, *, agent: Any = None) -> None:
    if target not in ALLOWED[conversation.status]:
        raise IllegalTransition(conversation.pk, conversation.status, target)
    now = timezone.now()
    conversation.status = target
    conversation.assigned_agent = agent
    conversation.status_changed_at = now
    if target == Status.RESOLVED:
        conversation.resolved_at = now
    conversation.save(update_fields=["status", "assigned_agent", "status_changed_at", "resolved_at"])
    events.conversation_status_changed(conversation)


def _open_handoff(conversation: Conversation) -> Handoff:
    return (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("conversation", "claimed_by")
        .get(conversation=conversation, closed_at__isnull=True)
    )


def _check_owner(conversation: Conversation, agent: Any) -> None:
    if conversation.status == Status.ASSIGNED and conversation.assigned_agent_id != agent.pk:
        raise NotAssignedAgent(conversation.pk)


@transaction.atomic
def conversation_queue(
    *, conversation_id: uuid.UUID, request: HandoffRequest, context: ContextPacket, message_id: int | None = None
) -> Handoff:
    """bot → queued: the conversation waits for a person, with its context packet; `message_id` is the customer
    message whose bot turn asked for it (or failed), none when it was opened otherwise."""
    conversation = _locked(conversation_id)
    _move(conversation, Status.QUEUED)
    queued_at = datetime.fromisoformat(context.queued_at)
    handoff = Handoff.objects.create(
        conversation=conversation,
        reason=request.reason.value,
        priority=request.priority.value,
        # Past its address's limit it still reaches people, but behind every other customer's (the inbox).
        over_limit=limits.handoff_over_limit(conversation.client_key),
        context=context.model_dump(),
        message_id=message_id,
        queued_at=queued_at,
        priority_changed_at=queued_at,
    )
    events.handoff_changed(handoff)
    return handoff


@transaction.atomic
def conversation_claim(*, conversation_id: uuid.UUID, agent: Any) -> Handoff:
    """queued → assigned: `agent` takes the conversation; the customer is told who joined."""
    conversation = _locked(conversation_id)
    _move(conversation, Status.ASSIGNED, agent=agent)
    handoff = _open_handoff(conversation)
    handoff.claimed_at = timezone.now()
    handoff.claimed_by = agent
    handoff.save(update_fields=["claimed_at", "claimed_by"])
    services.message_post_system(
        conversation=conversation, text=f"{display_name(agent)} joined the conversation"
    )
    audit_record(actor=agent, action=AuditAction.CLAIMED, conversation_id=conversation.pk)
    events.handoff_changed(handoff)
    return handoff


class NotAnAgent(TransitionError):
    def __init__(self, user: Any) -> None:
        super().__init__(f"{user.get_username()} cannot be given conversations")


@transaction.atomic
def conversation_reassign(*, conversation_id: uuid.UUID, by: Any, to: Any) -> Handoff:
    """queued or assigned → assigned to `to`, by a supervisor (the caller checks `by` may reassign): given to
    another agent, or taken over when `to` is `by`. The customer is told who joined."""
    conversation = _locked(conversation_id)
    if conversation.status not in (Status.QUEUED, Status.ASSIGNED) or conversation.assigned_agent_id == to.pk:
        raise IllegalTransition(conversation.pk, conversation.status, Status.ASSIGNED)
    if not roles.access_of(to).may_claim():
        raise NotAnAgent(to)
    previous_id = conversation.assigned_agent_id
    if conversation.status == Status.QUEUED:
        _move(conversation, Status.ASSIGNED, agent=to)
    else:  # assigned → assigned: not a move of the table (a second claim is refused), only a new owner
        conversation.assigned_agent = to
        conversation.status_changed_at = timezone.now()
        conversation.save(update_fields=["assigned_agent", "status_changed_at"])
        events.conversation_status_changed(conversation)
    handoff = _open_handoff(conversation)
    handoff.claimed_at = timezone.now()
    handoff.claimed_by = to
    handoff.save(update_fields=["claimed_at", "claimed_by"])
    services.message_post_system(conversation=conversation, text=f"{display_name(to)} joined the conversation")
    audit_record(
        actor=by,
        action=AuditAction.REASSIGNED,
        conversation_id=conversation.pk,
        subject=to,
        detail={"from_user_id": previous_id},
    )
    events.handoff_changed(handoff)
    return handoff


@dataclass(frozen=True)
class HandoffLabel:
    """What the resolving agent said the customer needed (an intent of the bot's domain, checked where the frame
    came in) and whether a person was needed at all: the NLU inbox's agent-confirmed label."""

    intent: str
    handoff_needed: bool


@transaction.atomic
def conversation_resolve(
    *, conversation_id: uuid.UUID, agent: Any, label: HandoffLabel | None = None
) -> Handoff:
    """assigned → resolved, by the assigned agent, who may label the handoff. Final: the customer's next visit is
    a new conversation."""
    conversation = _locked(conversation_id)
    _check_owner(conversation, agent)
    _move(conversation, Status.RESOLVED, agent=agent)
    services.message_post_system(
        conversation=conversation, text=f"{display_name(agent)} closed the conversation"
    )
    audit_record(
        actor=agent,
        action=AuditAction.RESOLVED,
        conversation_id=conversation.pk,
        detail={"label": {"intent": label.intent, "handoff_needed": label.handoff_needed}} if label else None,
    )
    return _close_handoff(conversation, Outcome.RESOLVED, label)


@transaction.atomic
def conversation_hand_back(*, conversation_id: uuid.UUID, agent: Any) -> Handoff:
    """assigned → bot, by the assigned agent: the bot answers the customer's next message again."""
    conversation = _locked(conversation_id)
    _check_owner(conversation, agent)
    _move(conversation, Status.BOT)
    services.message_post_system(conversation=conversation, text="You're back with our virtual assistant")
    audit_record(actor=agent, action=AuditAction.HANDED_BACK, conversation_id=conversation.pk)
    return _close_handoff(conversation, Outcome.HANDED_BACK)


def check_can_hand_back(*, conversation_id: uuid.UUID, agent: Any) -> None:
    """Raise as conversation_hand_back would, changing nothing: so the bot is not restarted in vain."""
    conversation = Conversation.objects.get(pk=conversation_id)
    _check_owner(conversation, agent)
    if Status.BOT not in ALLOWED[conversation.status]:
        raise IllegalTransition(conversation.pk, conversation.status, Status.BOT)


def _close_handoff(conversation: Conversation, outcome: Outcome, label: HandoffLabel | None = None) -> Handoff:
    handoff = _open_handoff(conversation)
    handoff.closed_at = timezone.now()
    handoff.outcome = outcome
    if label is not None:
        handoff.label_intent, handoff.label_handoff_needed = label.intent, label.handoff_needed
    handoff.save(update_fields=["closed_at", "outcome", "label_intent", "label_handoff_needed"])
    events.handoff_changed(handoff)
    return handoff
