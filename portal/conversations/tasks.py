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

from bot_gateway.client import (
    BotTurn,
    BotUnavailable,
    BotUnreachable,
    RasaGateway,
    get_gateway,
    turn_in_tracker,
)
from conversations import delivery, privacy, selectors
from conversations.models import UNANSWERED, Message, Sender

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    soft_time_limit=settings.BOT_DELIVERY_BUDGET_SECONDS + 10,
    time_limit=settings.BOT_DELIVERY_BUDGET_SECONDS + 30,
)
def deliver_to_bot(conversation_id: str) -> None:
    """Send the conversation's next waiting customer message to the bot and record its answer, or fail open to a
    person if the bot cannot answer; then queue the next one. Queued for every message stored: a task that finds
    another message of its conversation with the bot does nothing (that one's task queues the next).

    A worker that dies mid-way leaves the message unanswered for `sweep_undelivered_messages`."""
    message = delivery.message_take_for_bot(conversation_id=conversation_id)
    if message is None:
        return
    try:
        turn, tracker = _ask_bot(get_gateway(), message)
    except BotUnavailable as exc:
        delivery.fail_open(message_id=message.pk, detail=str(exc))
    except SoftTimeLimitExceeded:  # prefork pool only; in the thread pool the gateway's timeouts bound a task
        delivery.fail_open(message_id=message.pk, detail="the bot took too long to answer")
    else:
        if turn.replies or turn.handoff:
            delivery.record_bot_turn(message_id=message.pk, turn=turn, tracker=tracker)
        else:  # Rasa ends a turn whose custom action failed with nothing said: the customer must not wait on it
            delivery.fail_open(message_id=message.pk, detail="the bot's turn ended without a reply")
    if delivery.messages_wait_for_bot(conversation_id=conversation_id):
        deliver_to_bot.delay(conversation_id)


def _ask_bot(gateway: RasaGateway, message: Message) -> tuple[BotTurn, dict | None]:
    """The bot's turn for `message` (and the tracker, when the bot asks for a person), without ever making the
    bot run that turn twice: the message is sent again only after a failure that proves it never reached the bot
    (no connection). After any other failure (a read timeout, an error status) the bot may have run the turn, so
    the later tries look for it in the tracker instead (`turn_in_tracker`). Bounded tries, doubling pauses."""
    attempts = max(1, settings.BOT_DELIVERY_ATTEMPTS)
    may_have_arrived = False
    failure: BotUnavailable | None = None
    for attempt in range(attempts):
        if attempt:
            logger.info("bot unavailable (try %s of %s): %s", attempt, attempts, failure)
            time.sleep(0.5 * 2 ** (attempt - 1))
        try:
            if may_have_arrived:
                tracker = gateway.fetch_tracker(message.conversation_id)
                turn = turn_in_tracker(tracker, message.pk)
                if turn is not None:
                    return turn, tracker if turn.handoff else None
                continue  # not there (yet): the bot may still be running it, so never send it again
            Message.objects.filter(pk=message.pk).update(delivery_attempts=F("delivery_attempts") + 1)
            turn = gateway.send_message(
                message.conversation_id,
                message.bot_input,
                message_id=message.pk,
                button=bool(message.payload),
                customer_id=message.conversation.customer_id,
            )
            return turn, _tracker_or_none(gateway, message) if turn.handoff else None
        except BotUnavailable as exc:
            failure = failure if may_have_arrived else exc  # the failure that left it in doubt is the one told
            may_have_arrived = may_have_arrived or not isinstance(exc, BotUnreachable)
    assert failure is not None
    raise failure


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
        Message.objects.filter(sender=Sender.CUSTOMER, delivery__in=UNANSWERED, created_at__lt=deadline)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for message_id in stale:
        delivery.fail_open(
            message_id=message_id, detail=f"not answered within {settings.BOT_DELIVERY_DEADLINE_SECONDS} s"
        )
    return len(stale)


@shared_task(acks_late=True)
def erase_expired_conversations() -> int:
    """The retention job (daily, beat): erase one batch of conversations inactive for RETENTION_DAYS; while
    batches come full, queue the next one (each task stays short). Returns how many this batch erased."""
    erased = privacy.conversations_erase_expired()
    if erased >= settings.RETENTION_BATCH_SIZE:
        erase_expired_conversations.delay()
    logger.info("retention: %s conversations erased", erased)
    return erased


@shared_task(acks_late=True)
def erase_bot_trackers() -> int:
    """Ask the bot to erase the tracker of each conversation erased in the portal, a batch at a time; each is
    forgotten only once the bot confirms. A bot that cannot be reached stops the run: the rest wait for the
    next (hourly, beat; and after every erasure). Returns how many the bot erased."""
    gateway = get_gateway()
    erased = 0
    for conversation_id in selectors.tracker_erasures_pending(limit=settings.RETENTION_BATCH_SIZE):
        try:
            gateway.erase_tracker(conversation_id)
        except BotUnavailable as exc:
            privacy.tracker_erasure_failed(conversation_id=conversation_id, detail=str(exc))
            logger.warning("bot trackers not erased yet (%s): %s", conversation_id, exc)
            return erased
        privacy.tracker_erasure_done(conversation_id=conversation_id)
        erased += 1
    if erased >= settings.RETENTION_BATCH_SIZE:
        erase_bot_trackers.delay()
    return erased
