"""Reading a conversation's history off the rasa-sdk tracker: what the customer asked, what the bot did."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rasa_sdk import Tracker

Event = dict[str, Any]
NLU_FALLBACK = "nlu_fallback"
CONVERSATIONAL = {"affirm", "deny", "inform"}


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_topic(tracker: Tracker) -> str | None:
    """The latest thing the customer raised: their latest intent, passing over yes/no and bare details
    ("yes" to "shall I block your card?" is still about a lost card)."""
    intents = earlier_user_intents(tracker) + [latest_intent(tracker)]
    return next(
        (intent for intent in reversed(intents) if intent not in CONVERSATIONAL), latest_intent(tracker)
    )


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _since_latest_user_message(events: list[Event]) -> Iterator[Event]:
    """The events after the latest user message, newest first."""
    for event in reversed(events):
        if event.get("event") == "user":
            return
        yield event


def slot_set_this_turn(tracker: Tracker, slot: str) -> Any | None:
    """The value `slot` was set to since the customer's latest message (None if it was not set this turn)."""
    for event in _since_latest_user_message(tracker.events):
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def bot_action_before_latest_message(tracker: Tracker) -> str | None:
    """The last action the bot ran (other than listening) before the customer's latest message."""
    seen_latest_message = False
    for event in reversed(tracker.applied_events()):
        if event.get("event") == "user":
            if seen_latest_message:
                return None  # the customer spoke twice with no bot action in between
            seen_latest_message = True
        elif seen_latest_message and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def earlier_user_intents(tracker: Tracker) -> list[str | None]:
    """The intents of the customer's messages before the latest one, as the conversation stands now."""
    messages = [e for e in tracker.applied_events() if e.get("event") == "user"]
    return [(m.get("parse_data", {}).get("intent") or {}).get("name") for m in messages[:-1]]


def misunderstandings(tracker: Tracker) -> int:
    """Customer messages the bot did not understand since the conversation (re)started, clarified ones included."""
    return sum(
        1
        for event in tracker.events_after_latest_restart()
        if event.get("event") == "user"
        and ((event.get("parse_data") or {}).get("intent") or {}).get("name") == NLU_FALLBACK
    )
