"""Writes of handoffs outside the conversation's state: priority escalation, and the hand back to the bot."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents import roles
from bot_gateway.client import BotUnavailable, get_gateway
from conversations import events, selectors, transitions
from conversations.audit import audit_record
from conversations.models import AuditAction, Conversation, ConversationStatus, Handoff, Message
from handoff.selectors import latest_handoff

logger = logging.getLogger(__name__)


@transaction.atomic
def handoff_raise_priority(*, handoff_id: int) -> Handoff | None:
    """Raise a queued handoff one step if it has waited the escalation interval at its current priority."""
    handoff = Handoff.objects.select_for_update().select_related("conversation").get(pk=handoff_id)
    due = timezone.now() - timedelta(seconds=settings.HANDOFF_PRIORITY_RAISE_AFTER_SECONDS)
    raised = handoff.priority_enum.raised()
    if (
        handoff.closed_at is not None
        or handoff.conversation.status != ConversationStatus.QUEUED
        or handoff.priority_changed_at > due
        or raised == handoff.priority_enum
    ):
        return None
    handoff.priority = raised.value
    handoff.priority_changed_at = timezone.now()
    handoff.save(update_fields=["priority", "priority_changed_at"])
    events.handoff_changed(handoff)
    return handoff


class MayNotRead(Exception):
    """The user's role does not let them read this conversation (agents/roles.py)."""


@transaction.atomic
def conversation_open(
    *, conversation_id: uuid.UUID, user: Any, access: roles.Access
) -> tuple[Conversation, Handoff | None, list[Message]]:
    """What a user who opens a conversation reads (it, its latest handoff, its messages), if their role lets
    them; the reading is audited. Conversation.DoesNotExist if there is none."""
    conversation = selectors.conversation_get(conversation_id)
    if conversation is None:
        raise Conversation.DoesNotExist
    if not access.may_read_conversation(
        queued=conversation.status == ConversationStatus.QUEUED, assigned_agent_id=conversation.assigned_agent_id
    ):
        raise MayNotRead(f"your role does not let you open conversation {conversation_id}")
    audit_record(actor=user, action=AuditAction.OPENED, conversation_id=conversation.pk)
    return conversation, latest_handoff(conversation_id), selectors.conversation_messages(conversation_id)


def handoff_return_to_bot(*, conversation_id: uuid.UUID, agent: Any) -> Handoff:
    """The agent hands the conversation back: the bot forgets it (restart) and then answers the next message.

    If the bot is down the hand back still happens: the customer's next message then fails open as usual."""
    transitions.check_can_hand_back(conversation_id=conversation_id, agent=agent)
    try:
        get_gateway().restart(conversation_id)
    except BotUnavailable as exc:
        logger.warning("could not restart the bot's conversation %s: %s", conversation_id, exc)
    return transitions.conversation_hand_back(conversation_id=conversation_id, agent=agent)
