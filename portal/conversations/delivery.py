"""What happens to a customer message on its way to the bot: the bot's answer is recorded, or, when the bot
cannot answer, the conversation fails open to a person. Called by the tasks in tasks.py."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from bot_gateway.client import BotTurn
from contracts.handoff import HandoffReason, HandoffRequest, Priority
from conversations import selectors, services, transitions
from conversations.context import build_context_packet
from conversations.models import Conversation, ConversationStatus, Delivery, Handoff, Message

logger = logging.getLogger(__name__)

BOT_UNAVAILABLE_NOTICE = "Our assistant can't answer right now. A person will reply here as soon as possible."


def _lock_pending(message_id: int) -> tuple[Conversation, Message] | None:
    """The message and its conversation, locked, if the message still waits for the bot; else None."""
    # Conversation first, then message: the lock order of every writer. Found by the message in one query.
    conversation = Conversation.objects.select_for_update(of=("self",)).filter(messages=message_id).first()
    if conversation is None:
        return None
    message = Message.objects.select_for_update().get(pk=message_id)
    if message.delivery != Delivery.PENDING:
        return None  # already answered, failed or skipped: a redelivered task does nothing
    return conversation, message


def _set_delivery(message: Message, delivery: Delivery) -> None:
    message.delivery = delivery
    message.save(update_fields=["delivery"])


def queue_for_person(conversation: Conversation, request: HandoffRequest, tracker: dict | None) -> Handoff:
    """Hand the conversation to the queue with its context packet: from the bot's tracker, or (bot down) none."""
    packet = build_context_packet(
        conversation_id=conversation.pk,
        request=request,
        transcript=selectors.conversation_transcript(conversation.pk),
        tracker=tracker,
        queued_at=timezone.now(),
    )
    return transitions.conversation_queue(conversation_id=conversation.pk, request=request, context=packet)


@transaction.atomic
def record_bot_turn(*, message_id: int, turn: BotTurn, tracker: dict | None) -> None:
    """Store the bot's replies to a customer message and, if the bot asked for it, queue the conversation."""
    locked = _lock_pending(message_id)
    if locked is None:
        return
    conversation, message = locked
    _set_delivery(message, Delivery.DELIVERED)
    if conversation.status != ConversationStatus.BOT:
        # A person took over while the bot was thinking: the bot stays silent.
        logger.info("dropping bot replies to message %s: conversation is %s", message_id, conversation.status)
        return
    services.messages_post_bot(conversation=conversation, replies=turn.replies)
    if turn.handoff:
        queue_for_person(conversation, turn.handoff, tracker)


@transaction.atomic
def fail_open(*, message_id: int, detail: str) -> None:
    """The bot could not answer this message: keep it, tell the customer a person will answer, hand off."""
    locked = _lock_pending(message_id)
    if locked is None:
        return
    conversation, message = locked
    if conversation.status != ConversationStatus.BOT:
        _set_delivery(message, Delivery.SKIPPED)  # already with people: it is for them
        return
    _set_delivery(message, Delivery.FAILED)
    logger.warning("bot unavailable for conversation %s: %s", conversation.pk, detail)
    services.message_post_system(conversation=conversation, text=BOT_UNAVAILABLE_NOTICE)
    request = HandoffRequest(
        reason=HandoffReason.BOT_UNAVAILABLE, priority=Priority.NORMAL, note=detail[:200]
    )
    queue_for_person(conversation, request, tracker=None)


@transaction.atomic
def skip_delivery(*, message_id: int) -> None:
    """The conversation left the bot before this message reached it: it is for the person now."""
    locked = _lock_pending(message_id)
    if locked is not None:
        _set_delivery(locked[1], Delivery.SKIPPED)
