"""Rows of a conversation's history at given times, for the oversight tests (the services stamp `now`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
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


DAY = date(2026, 3, 2)


def at(hh_mm_ss: str, day: int = 0) -> datetime:
    hours, minutes, seconds = (int(part) for part in hh_mm_ss.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, hours, minutes, seconds, tzinfo=timezone.utc) + timedelta(days=day)


def known_day() -> None:
    """Five conversations on DAY, three the bot finished itself; two the day before; one session without a word."""
    c1 = conversation(at("08:00:00"))
    said(c1, at("08:00:00"), "greet")
    said(c1, at("08:00:10"), "card_delivery")
    c2 = conversation(at("09:00:00"))
    said(c2, at("09:00:00"), "opening_hours")
    c3 = conversation(at("09:30:00"))
    said(c3, at("09:30:00"), "pin")
    # Answered, then the customer asked for a person, who said none was needed.
    c4 = conversation(at("10:00:00"))
    said(c4, at("10:00:00"), "card_delivery")
    asked = said(c4, at("10:01:00"), "request_human")
    handoff(
        c4, "explicit_request", at("10:01:00"), asked, claimed_at=at("10:03:00"), closed_at=at("10:11:00"),
        outcome="resolved", label_intent="card_delivery", label_handoff_needed=False,
    )
    message(c4, at("10:04:00"), sender="agent")
    # The bot escalated on the topic itself: right, not missed.
    c5 = conversation(at("12:00:00"))
    fraud = said(c5, at("12:00:00"), "report_fraud")
    handoff(
        c5, "sensitive_topic", at("12:00:00"), fraud, claimed_at=at("14:30:00"), closed_at=at("15:00:00"),
        outcome="resolved", label_intent="report_fraud", label_handoff_needed=True,
    )
    message(c5, at("14:32:00"), sender="agent")
    conversation(at("13:00:00"))  # a session the customer never wrote in
    # The day before: queued at 23:30, still waiting at midnight and 01:00.
    c7 = conversation(at("22:00:00", day=-1))
    said(c7, at("22:00:00", day=-1), "pin")
    handoff(c7, "explicit_request", at("23:30:00", day=-1), claimed_at=at("01:30:00"))
    # Started the day before; not understood after midnight; the agent says it was fraud: the answer before
    # it (transfer limits) missed an escalation.
    c9 = conversation(at("23:50:00", day=-1))
    said(c9, at("23:50:00", day=-1), "transfer_limits")
    unclear = said(c9, at("00:05:00"), "nlu_fallback", confidence=0.3)
    handoff(
        c9, "low_confidence", at("00:05:00"), unclear, claimed_at=at("00:05:30"), closed_at=at("00:10:00"),
        outcome="handed_back", label_intent="report_fraud", label_handoff_needed=True,
    )
    message(c9, at("00:06:00"), sender="agent")
