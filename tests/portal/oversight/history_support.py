"""Rows of a conversation's history at given times, for the oversight tests (the services stamp `now`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conversations.models import Conversation, Handoff, Message
from tuning.models import NluRecord


def conversation(at: datetime) -> Conversation:
    started = Conversation.objects.create()
    Conversation.objects.filter(pk=started.pk).update(created_at=at, status_changed_at=at)
    return started


def message(started: Conversation, at: datetime, sender: str = "customer", text: str = "") -> Message:
    seq = started.messages.count() + 1
    written = Message.objects.create(conversation=started, seq=seq, sender=sender, text=text or sender)
    Message.objects.filter(pk=written.pk).update(created_at=at)
    return written


def said(started: Conversation, at: datetime, intent: str, confidence: float = 0.9) -> Message:
    """A customer message the bot classified as `intent`."""
    written = message(started, at, text=f"about {intent}")
    NluRecord.objects.create(
        message=written, text=written.text, intent=intent, confidence=confidence, classified_at=at
    )
    return written


def handoff(
    started: Conversation, reason: str, queued: datetime, led_by: Message | None = None, **fields: Any
) -> Handoff:
    return Handoff.objects.create(
        conversation=started, reason=reason, context={}, queued_at=queued, priority_changed_at=queued,
        message=led_by, **fields,
    )
