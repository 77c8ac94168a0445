"""The safety screen's findings (bot/components/sensitive_screen.py), as the actions read them.

A finding is in a customer message's parse data (`sensitive_screen`): hand off or ask, the topic, the signal.
The topics' priorities, care notes and labels are in bot/triage/sensitive_topics.yml, read on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker

from contracts.handoff import HandoffReason, HandoffRequest, Priority

TRIAGE_FILE = Path(__file__).resolve().parents[1] / "triage" / "sensitive_topics.yml"
SCREEN_KEY = "sensitive_screen"
HAND_OFF = "hand_off"


@dataclass(frozen=True)
class ScreenTopic:
    priority: Priority
    note: str
    label: str


@lru_cache(maxsize=1)
def screen_topics() -> dict[str, ScreenTopic]:
    with TRIAGE_FILE.open(encoding="utf-8") as triage_file:
        topics = yaml.safe_load(triage_file)["topics"]
    return {
        name: ScreenTopic(Priority(rule["priority"]), rule["note"], rule.get("label", name.replace("_", " ")))
        for name, rule in topics.items()
    }


def finding_of(parse_data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The screen's finding on one customer message, or None where it did not fire."""
    return (parse_data or {}).get(SCREEN_KEY) or None


def screen_note(finding: dict[str, Any]) -> str:
    """The agent's line: the care note, then why the screen fired (so managers can tune it)."""
    topic = screen_topics()[finding["topic"]]
    if finding["via"] == "phrase":
        why = f'phrase "{finding["signal"]}"'
    elif finding["via"] == "clause":
        why = f'the clause "{finding["signal"]}" reads as {finding["topic"]}'
    elif finding["via"] == "classifier":
        why = f"the screen's classifier reads it as {finding['topic']} ({finding['similarity']:.2f})"
    else:
        why = f'near "{finding["signal"]}" ({finding["similarity"]:.2f})'
    return f"{topic.note}. Safety screen: {finding['topic']}, {why}; the bot read {finding.get('intent')}"


def screen_request(finding: dict[str, Any]) -> HandoffRequest:
    topic = screen_topics()[finding["topic"]]
    return HandoffRequest(HandoffReason.SAFETY_SCREEN, topic.priority, finding["topic"], screen_note(finding))


def with_screen(request: HandoffRequest, finding: dict[str, Any] | None) -> HandoffRequest:
    """A handoff for another reason (the intent's own rule) that the screen also flagged: the higher priority of
    the two, and the screen's care note first (a complaint with suicidal language is urgent)."""
    if not finding or request.reason is HandoffReason.SAFETY_SCREEN:
        return request
    screened = screen_request(finding)
    priority = max(request.priority, screened.priority, key=lambda p: p.rank)
    note = f"{screened.note} | {request.note}" if request.note else screened.note
    return HandoffRequest(request.reason, priority, request.topic, note, request.version)


def previous_user_parse(tracker: Tracker) -> dict[str, Any]:
    """The parse data of the customer's message before the latest one ({} if none)."""
    messages = [e for e in tracker.applied_events() if e.get("event") == "user"]
    return (messages[-2].get("parse_data") or {}) if len(messages) >= 2 else {}
