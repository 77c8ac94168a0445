"""action_screen, action_screen_declined and action_handoff on the safety screen's findings: exact events."""

from __future__ import annotations

from typing import Any

from actions.bank_policy import bank_policy
from actions.handoff import ActionHandoff
from actions.screen import ActionScreen, ActionScreenDeclined
from actions.triage import screen_topics
from rasa_sdk import Tracker

from contracts.handoff import HandoffReason, Priority, parse_handoff
from tests.bot.conftest import run_action

SUICIDAL = {"decision": "hand_off", "topic": "suicidal", "signal": "end it all", "similarity": 0.31,
            "via": "phrase", "intent": "pin"}
POSSIBLE_FRAUD = {"decision": "ask", "topic": "fraud", "signal": "strange payment", "similarity": 0.4,
                  "via": "phrase", "intent": "opening_hours"}


def user(text: str, intent: str, finding: dict | None = None) -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
    if finding:
        parse["sensitive_screen"] = finding
    return {"event": "user", "timestamp": 1.0, "text": text, "parse_data": parse}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "timestamp": 1.0, "name": name}


def tracker(*events: dict[str, Any]) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker("c0ffee", {}, latest["parse_data"], list(events), False, None, {}, "action_listen")


def payload(dispatcher) -> Any:
    return next(parse_handoff(m.get("custom")) for m in dispatcher.messages if m.get("custom"))


def test_a_flagged_message_goes_to_a_person_with_the_topics_priority_and_why(dispatcher, domain):
    events = run_action(ActionScreen(), dispatcher, tracker(user("pin?? i want to end it all", "sensitive_screen", SUICIDAL)), domain)

    note = events[1]["value"]
    assert events[0] == {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "safety_screen"}
    assert note.startswith(screen_topics()["suicidal"].note)
    assert 'phrase "end it all"' in note and "the bot read pin" in note
    assert events[2:] == [
        {"event": "slot", "timestamp": None, "name": "handoff_priority", "value": "urgent"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert dispatcher.messages == []


def test_a_finding_of_the_learnt_reading_says_so_in_the_note(dispatcher, domain):
    read = {"decision": "hand_off", "topic": "coercion_abuse", "signal": "my mother in law has my card",
            "similarity": 0.912, "via": "classifier", "intent": "lost_or_stolen_card"}
    events = run_action(ActionScreen(), dispatcher, tracker(user("my mother in law has my card", "sensitive_screen", read)), domain)

    note = events[1]["value"]
    assert note.startswith(screen_topics()["coercion_abuse"].note)
    assert "the screen's classifier reads it as coercion_abuse (0.91)" in note and "the bot read lost_or_stolen_card" in note
    assert events[2]["value"] == "high"


def test_action_handoff_sends_the_screens_reason_and_topic(dispatcher, domain):
    flagged = user("pin?? i want to end it all", "sensitive_screen", SUICIDAL)
    screened = run_action(ActionScreen(), dispatcher, tracker(flagged), domain)
    slots = [e for e in screened if e["event"] == "slot"]

    run_action(ActionHandoff(), dispatcher, tracker(flagged, action("action_screen"), *slots), domain)

    request = payload(dispatcher)
    assert (request.reason, request.priority, request.topic) == (HandoffReason.SAFETY_SCREEN, Priority.URGENT, "suicidal")
    assert dispatcher.messages[0]["response"] == "utter_handoff_urgent"


def test_possibly_sensitive_asks_once_with_buttons(dispatcher, domain):
    events = run_action(ActionScreen(), dispatcher, tracker(user("strange payment, when do you open", "sensitive_screen", POSSIBLE_FRAUD)), domain)

    assert events == []
    (asked,) = dispatcher.messages
    assert "a payment you don't recognise" in asked["text"]
    assert [b["payload"] for b in asked["buttons"]] == ["/affirm", "/deny"]


def test_yes_to_the_screens_question_hands_off(dispatcher, domain):
    conversation = tracker(
        user("strange payment, when do you open", "sensitive_screen", POSSIBLE_FRAUD),
        action("action_screen"),
        action("action_listen"),
        user("/affirm", "affirm"),
    )
    run_action(ActionHandoff(), dispatcher, conversation, domain)

    request = payload(dispatcher)
    assert (request.reason, request.priority, request.topic) == (HandoffReason.SAFETY_SCREEN, Priority.URGENT, "fraud")


def test_no_to_the_screens_question_answers_what_was_asked(dispatcher, domain):
    conversation = tracker(
        user("strange payment, when do you open", "sensitive_screen", POSSIBLE_FRAUD),
        action("action_screen"),
        action("action_listen"),
        user("/deny", "deny"),
    )
    assert run_action(ActionScreenDeclined(), dispatcher, conversation, domain) == []
    assert dispatcher.messages[0]["text"] == bank_policy().answer("opening_hours")


def test_an_escalation_intent_keeps_its_reason_but_takes_the_screens_priority_and_care_note(dispatcher, domain):
    complaint = user("i want to complain, i can't go on like this", "complaint", {**SUICIDAL, "intent": "complaint"})

    run_action(ActionHandoff(), dispatcher, tracker(complaint), domain)

    request = payload(dispatcher)
    assert (request.reason, request.priority, request.topic) == (HandoffReason.SENSITIVE_TOPIC, Priority.URGENT, "complaint")
    assert request.note.startswith(screen_topics()["suicidal"].note)
    assert request.note.endswith(bank_policy().handoff_topics["complaint"].note)


def test_every_screen_topic_has_a_priority_a_note_and_a_label():
    for name, topic in screen_topics().items():
        assert topic.note and topic.label, name
    vulnerable = ("suicidal", "coercion_abuse", "illness_disability", "bereavement", "financial_hardship")
    assert screen_topics()["suicidal"].priority is Priority.URGENT
    assert all(screen_topics()[name].priority.rank >= Priority.HIGH.rank for name in vulnerable)
