"""Celery tasks of conversations. Each takes ids, reloads, and does nothing if its work is already done."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from bot_gateway.client import BotTurn, BotUnavailable, RasaGateway, get_gateway
from conversations import delivery
from conversations.models import ConversationStatus, Delivery, Message, Sender

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    soft_time_limit=settings.BOT_DELIVERY_BUDGET_SECONDS + 10,
    time_limit=settings.BOT_DELIVERY_BUDGET_SECONDS + 30,
)
def deliver_to_bot(message_id: int) -> None:
    """Send a customer message to the bot and record its answer; fail open to a person if the bot cannot answer.

    Retries in the task itself, a bounded few times with a doubling pause, so the customer waits seconds, not
    minutes; a worker that dies mid-way leaves the message pending for `sweep_undelivered_messages`."""
    message = (
        Message.objects.select_related("conversation").filter(pk=message_id, sender=Sender.CUSTOMER).first()
    )
    if message is None or message.delivery != Delivery.PENDING:
        return
    if message.conversation.status != ConversationStatus.BOT:
        delivery.skip_delivery(message_id=message_id)
        return
    gateway = get_gateway()
    try:
        turn = _send_with_retries(gateway, message)
        tracker = _tracker_or_none(gateway, message) if turn.handoff else None
    except BotUnavailable as exc:
        delivery.fail_open(message_id=message_id, detail=str(exc))
        return
    except SoftTimeLimitExceeded:
        delivery.fail_open(message_id=message_id, detail="the bot took too long to answer")
        return
    finally:
        gateway.close()
    delivery.record_bot_turn(message_id=message_id, turn=turn, tracker=tracker)


def _send_with_retries(gateway: RasaGateway, message: Message) -> BotTurn:
    attempts = max(1, settings.BOT_DELIVERY_ATTEMPTS)
    attempt = 1
    while True:
        Message.objects.filter(pk=message.pk).update(delivery_attempts=F("delivery_attempts") + 1)
        try:
            return gateway.send_message(message.conversation_id, message.bot_input)
        except BotUnavailable as exc:
            if attempt == attempts:
                raise
            logger.info("bot unavailable (attempt %s of %s): %s", attempt, attempts, exc)
            time.sleep(0.5 * 2 ** (attempt - 1))
            attempt += 1


def _tracker_or_none(gateway: RasaGateway, message: Message) -> dict | None:
    """The tracker for the context packet; without it the packet still has the transcript."""
    try:
        return gateway.fetch_tracker(message.conversation_id)
    except BotUnavailable as exc:
        logger.warning("no tracker for conversation %s: %s", message.conversation_id, exc)
        return None


@shared_task(acks_late=True)
def sweep_undelivered_messages() -> int:
    """Hand to a person every customer message the bot has not answered by the deadline (a dead worker, a lost
    task). Returns how many were handed off."""
    deadline = timezone.now() - timedelta(seconds=settings.BOT_DELIVERY_DEADLINE_SECONDS)
    stale = list(
        Message.objects.filter(sender=Sender.CUSTOMER, delivery=Delivery.PENDING, created_at__lt=deadline)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for message_id in stale:
        delivery.fail_open(
            message_id=message_id, detail=f"not answered within {settings.BOT_DELIVERY_DEADLINE_SECONDS} s"
        )
    return len(stale)
