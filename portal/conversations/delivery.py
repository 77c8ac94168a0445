"""What happens to a customer message on its way to the bot: the bot's answer is recorded, or, when the bot
cannot answer, the conversation fails open to a person. Called by the tasks in tasks.py.

A conversation's messages go to the bot one at a time and in the order they were stored, however many tasks run
at once: a message is taken for the bot (`sending`) only while no other message of its conversation is with the
bot, and it is always the oldest waiting one (`message_take_for_bot`)."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bot_gateway.client import BotTurn
from contracts.handoff import HandoffReason, HandoffRequest, Priority
from conversations import selectors, services, transitions
from conversations.context import build_context_packet
from conversations.models import (
    UNANSWERED,
    Conversation,
    ConversationStatus,
    Delivery,
    Handoff,
    Message,
    Sender,
)

logger = logging.getLogger(__name__)

BOT_UNAVAILABLE_NOTICE = "Our assistant can't answer right now. A person will reply here as soon as possible."


def _lock_conversation_of(message_id: int) -> Conversation | None:
    # Found by the message in one query. The conversation's lock guards its messages' delivery too.
    return Conversation.objects.select_for_update(of=("self",)).filter(messages=message_id).first()


def _settle(message_id: int, delivery: Delivery) -> bool:
    """Give an unanswered message its final delivery; False if it had one already (a redelivered task, or the
    sweep came first): then there is nothing left to do."""
    return Message.objects.filter(pk=message_id, delivery__in=UNANSWERED).update(delivery=delivery) == 1


def _unanswered(conversation_id: uuid.UUID | str) -> QuerySet[Message]:
    return Message.objects.filter(
        conversation_id=conversation_id, sender=Sender.CUSTOMER, delivery__in=UNANSWERED
    ).order_by("id")


@transaction.atomic
def message_take_for_bot(*, conversation_id: uuid.UUID | str) -> Message | None:
    """The conversation's oldest message waiting for the bot, now marked `sending`; None when none waits or
    while another of its messages is with the bot (that one's task takes the next). Messages still waiting when
    the conversation has gone to a person are marked skipped: they are for the person now."""
    conversation = Conversation.objects.select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        return None
    if conversation.status != ConversationStatus.BOT:
        _unanswered(conversation.pk).filter(delivery=Delivery.PENDING).update(delivery=Delivery.SKIPPED)
        return None
    # Messages are taken oldest first, so the one with the bot, if any, is the oldest unanswered.
    oldest = _unanswered(conversation.pk).first()
    if oldest is None or oldest.delivery == Delivery.SENDING:
        return None
    oldest.delivery = Delivery.SENDING
    oldest.save(update_fields=["delivery"])
    oldest.conversation = conversation  # read already: the bot is told who the customer is without a query
    return oldest


def messages_wait_for_bot(*, conversation_id: uuid.UUID | str) -> bool:
    """Whether a message of the conversation still waits for its turn with the bot."""
    return _unanswered(conversation_id).filter(delivery=Delivery.PENDING).exists()


def queue_for_person(
    conversation: Conversation, request: HandoffRequest, tracker: dict | None, *, message_id: int | None
) -> Handoff:
    """Hand the conversation to the queue with its context packet: from the bot's tracker, or (bot down) none.
    `message_id`: the customer message whose turn led here (the NLU inbox's "what followed"), if one did."""
    packet = build_context_packet(
        conversation_id=conversation.pk,
        request=request,
        transcript=selectors.conversation_transcript(conversation.pk),
        tracker=tracker,
        queued_at=timezone.now(),
        customer_id=conversation.customer_id,
    )
    return transitions.conversation_queue(
        conversation_id=conversation.pk, request=request, context=packet, message_id=message_id
    )


@transaction.atomic
def record_bot_turn(*, message_id: int, turn: BotTurn, tracker: dict | None) -> None:
    """Store the bot's replies to a customer message and, if the bot asked for it, queue the conversation."""
    conversation = _lock_conversation_of(message_id)
    if conversation is None or not _settle(message_id, Delivery.DELIVERED):
        return
    if conversation.status != ConversationStatus.BOT:
        # A person took over while the bot was thinking: the bot stays silent.
        logger.info("dropping bot replies to message %s: conversation is %s", message_id, conversation.status)
        return
    services.messages_post_bot(conversation=conversation, replies=turn.replies)
    if turn.handoff:
        queue_for_person(conversation, turn.handoff, tracker, message_id=message_id)


@transaction.atomic
def fail_open(*, message_id: int, detail: str) -> None:
    """The bot could not answer this message: keep it, tell the customer a person will answer, hand off."""
    conversation = _lock_conversation_of(message_id)
    if conversation is None:
        return
    with_bot = conversation.status == ConversationStatus.BOT
    # Already with people, it is for them (skipped); else it failed and goes to people now.
    if not _settle(message_id, Delivery.FAILED if with_bot else Delivery.SKIPPED) or not with_bot:
        return
    logger.warning("bot unavailable for conversation %s: %s", conversation.pk, detail)
    services.message_post_system(conversation=conversation, text=BOT_UNAVAILABLE_NOTICE)
    request = HandoffRequest(
        reason=HandoffReason.BOT_UNAVAILABLE, priority=Priority.NORMAL, note=detail[:200]
    )
    queue_for_person(conversation, request, tracker=None, message_id=message_id)
