"""Writes of messages. Conversation state is changed only by transitions.py."""

from __future__ import annotations

import uuid
from typing import Any
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q, Subquery
from django.utils import timezone

from contracts.redaction import mask_personal_data
from conversations import events
from conversations.audit import audit_record
from conversations.models import AuditAction, Conversation, ConversationStatus, Delivery, Message, Sender


class ConversationClosed(Exception):
    """The conversation was resolved; the customer must start a new one."""


class NotAllowed(Exception):
    """The action does not fit the conversation's state or its owner."""


class ButtonNotOffered(Exception):
    """A payload that is no button of the bot's latest offer in the conversation, or that offer was answered."""


def conversation_start(*, client_key: str = "", customer_id: str = "") -> Conversation:
    """A new conversation with the bot; `client_key`: who started it, for the handoff limit (limits.py);
    `customer_id`: the bank's id of the customer, only once their assertion was verified (blank: anonymous)."""
    return Conversation.objects.create(
        client_key=client_key,
        customer_id=customer_id,
        customer_verified_at=timezone.now() if customer_id else None,
    )


def _append(conversation: Conversation, **fields: Any) -> Message:
    """Store the conversation's next message, numbered last_seq + 1. The caller holds the conversation's row lock
    (select_for_update, read in this transaction), so no two messages of it get one number; the counter is saved
    by `_save_seq` once the caller has appended all of this transaction's messages."""
    conversation.last_seq += 1
    return Message.objects.create(conversation=conversation, seq=conversation.last_seq, **fields)


def _save_seq(conversation: Conversation) -> None:
    conversation.save(update_fields=["last_seq"])


def _locked_and_numbered(conversation_id: uuid.UUID, client_id: str) -> Conversation:
    """The conversation for one new message from a client: its row locked by counting `last_seq` up for it (the
    message's number; a caller that stores nothing must roll back), then read, with `resent_id`, the message
    already stored under `client_id` if this is a resend. Read after the lock, so a resend committed meanwhile is
    seen; two statements where a lock, a resend check and the counter's save were three, on every message."""
    if not Conversation.objects.filter(pk=conversation_id).update(last_seq=F("last_seq") + 1):
        raise Conversation.DoesNotExist(str(conversation_id))
    resent = Message.objects.filter(conversation_id=conversation_id, client_id=client_id).values("pk")[:1]
    return Conversation.objects.annotate(resent_id=Subquery(resent)).get(pk=conversation_id)


def _store_from_client(conversation: Conversation, client_id: str, *, text: str, **fields: Any) -> Message:
    """A customer's or an agent's message, under the number `_locked_and_numbered` counted. Its text is masked
    (card numbers): an agent may paste what a customer read out. The bot's text is not: it only ever sees masked
    text, and its answers carry the bank's own details (its sort code, an example IBAN)."""
    return Message.objects.create(
        conversation=conversation,
        seq=conversation.last_seq,
        text=mask_personal_data(text),
        client_id=client_id,
        **fields,
    )


def _resent(conversation: Conversation) -> Message | None:
    """The message a resend's client_id names (see `_locked_and_numbered`), its number given back."""
    if conversation.resent_id is None:  # type: ignore[attr-defined]  # the annotation
        return None
    message = Message.objects.get(pk=conversation.resent_id)  # type: ignore[attr-defined]
    transaction.set_rollback(True)
    return message


@transaction.atomic
def message_post_customer(
    *,
    conversation_id: uuid.UUID,
    client_id: str,
    text: str,
    payload: str = "",
    origin_channel: str | None = None,
) -> Message:
    """Store a customer's message (card numbers masked first); while the bot has the conversation, queue it to
    the bot once committed. A resend with the same client_id returns the stored message and does nothing else.

    With a `payload` the customer chose a button: it must be one the bot offered in its latest offer of buttons,
    not answered since (ButtonNotOffered otherwise, and nothing is stored); the offered title is stored as the
    text, so the agent sees what the bot acted on."""
    conversation = _locked_and_numbered(conversation_id, client_id)
    if conversation.status == ConversationStatus.RESOLVED:
        raise ConversationClosed(str(conversation_id))
    if existing := _resent(conversation):
        return existing
    if payload:
        text = _offered_button(conversation, payload)["title"]
    for_bot = conversation.status == ConversationStatus.BOT
    message = _store_from_client(
        conversation,
        client_id,
        sender=Sender.CUSTOMER,
        text=text,
        payload=payload,
        delivery=Delivery.PENDING if for_bot else Delivery.SKIPPED,
    )
    events.message_created(message, origin_channel)
    if for_bot:
        transaction.on_commit(lambda: _queue_delivery_to_bot(conversation.pk))
    return message


def _offered_button(conversation: Conversation, payload: str) -> dict[str, str]:
    """The button with this payload in the bot's open offer: its latest message with buttons, if no customer
    message came after it (a later offer replaces it; an answer uses it up)."""
    latest = (
        Message.objects.filter(conversation=conversation)
        .filter(Q(sender=Sender.CUSTOMER) | (Q(sender=Sender.BOT) & ~Q(buttons=[])))
        .order_by("-seq")
        .only("sender", "buttons")
        .first()
    )
    offer = latest.buttons if latest is not None and latest.sender == Sender.BOT else []
    for button in offer:
        if button.get("payload") == payload:
            return dict(button)
    raise ButtonNotOffered(payload)


def _queue_delivery_to_bot(conversation_id: uuid.UUID) -> None:
    from conversations.tasks import deliver_to_bot  # tasks imports this module

    deliver_to_bot.delay(str(conversation_id))


@transaction.atomic
def message_post_agent(
    *, conversation_id: uuid.UUID, agent: Any, client_id: str, text: str, origin_channel: str | None = None
) -> Message:
    """Store an agent's message to the customer; only the agent the conversation is assigned to may write."""
    conversation = _locked_and_numbered(conversation_id, client_id)
    if conversation.status != ConversationStatus.ASSIGNED or conversation.assigned_agent_id != agent.pk:
        raise NotAllowed("only the agent the conversation is assigned to can write to the customer")
    if existing := _resent(conversation):
        return existing
    message = _store_from_client(conversation, client_id, sender=Sender.AGENT, text=text, agent=agent)
    audit_record(
        actor=agent, action=AuditAction.WROTE, conversation_id=conversation.pk, detail={"message_id": message.pk}
    )
    events.message_created(message, origin_channel)
    return message


def message_post_system(*, conversation: Conversation, text: str) -> Message:
    """A notice from the portal itself (an agent joined, the bot is unavailable). Call inside a transaction,
    with the conversation locked."""
    message = _append(conversation, sender=Sender.SYSTEM, text=text)
    _save_seq(conversation)
    events.message_created(message)
    return message


def messages_post_bot(*, conversation: Conversation, replies: Iterable[Any]) -> list[Message]:
    """Store the bot's replies (bot_gateway.BotReply). Call inside a transaction, with the conversation locked."""
    stored = []
    for reply in replies:
        message = _append(conversation, sender=Sender.BOT, text=reply.text, buttons=list(reply.buttons))
        events.message_created(message)
        stored.append(message)
    if stored:
        _save_seq(conversation)
    return stored
