"""action_handoff: the one place a handoff is requested; asserts the exact events and messages."""

from __future__ import annotations

from typing import Any

from actions.handoff import ActionHandoff

from contracts.handoff import HandoffReason, Priority, parse_handoff
from tests.bot.conftest import load_tracker, run_action


def run_handoff(tracker, dispatcher, domain) -> list[dict[str, Any]]:
    return run_action(ActionHandoff(), dispatcher, tracker, domain)


def test_fraud_report_is_urgent_sensitive_topic(dispatcher, domain):
    events = run_handoff(load_tracker("fraud_report"), dispatcher, domain)

    assert events == [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "sensitive_topic"},
        {"event": "slot", "timestamp": None, "name": "handoff_priority", "value": "urgent"},
        {
            "event": "slot",
            "timestamp": None,
            "name": "handoff_note",
            "value": "Customer reports a payment they did not make",
        },
        {"event": "followup", "timestamp": None, "name": "action_listen"},
    ]
    told, payload = dispatcher.messages
    assert told["response"] == "utter_handoff_urgent"
    assert payload["custom"] == {
        "handoff": {
            "version": 1,
            "reason": "sensitive_topic",
            "priority": "urgent",
            "topic": "report_fraud",
            "note": "Customer reports a payment they did not make",
        }
    }


def test_the_payload_follows_the_contract(dispatcher, domain):
    run_handoff(load_tracker("fraud_report"), dispatcher, domain)

    request = parse_handoff(dispatcher.messages[-1]["custom"])
    assert (request.reason, request.priority, request.topic) == (
        HandoffReason.SENSITIVE_TOPIC,
        Priority.URGENT,
        "report_fraud",
    )


def test_accepting_the_out_of_scope_offer(dispatcher, domain):
    events = run_handoff(load_tracker("out_of_scope_offer_accepted"), dispatcher, domain)

    assert events[:2] == [
        {
            "event": "slot",
            "timestamp": None,
            "name": "handoff_reason",
            "value": "out_of_scope_offer_accepted",
        },
        {"event": "slot", "timestamp": None, "name": "handoff_priority", "value": "low"},
    ]
    assert dispatcher.messages[0]["response"] == "utter_handoff"
    body = dispatcher.messages[1]["custom"]["handoff"]
    assert (body["reason"], body["topic"]) == ("out_of_scope_offer_accepted", "out_of_scope")


def test_a_reason_detected_this_turn_wins_over_the_topic(dispatcher, domain):
    tracker = load_tracker("faq_asked_again")
    tracker.events.append({"event": "action", "name": "action_answer_faq"})
    tracker.events.append({"event": "slot", "name": "handoff_reason", "value": "frustration"})

    events = run_handoff(tracker, dispatcher, domain)

    body = dispatcher.messages[1]["custom"]["handoff"]
    assert (body["reason"], body["priority"], body["topic"]) == ("frustration", "high", "opening_hours")
    assert events[0] == {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "frustration"}


def test_a_reason_from_an_earlier_turn_is_not_reused(dispatcher, domain):
    tracker = load_tracker("fraud_report")
    tracker.events.insert(1, {"event": "slot", "name": "handoff_reason", "value": "low_confidence"})

    run_handoff(tracker, dispatcher, domain)

    assert dispatcher.messages[1]["custom"]["handoff"]["reason"] == "sensitive_topic"


def test_fraud_words_in_a_routine_topic_are_handled_as_fraud(dispatcher, domain):
    run_handoff(load_tracker("lost_card_cloned"), dispatcher, domain)

    assert dispatcher.messages[1]["custom"]["handoff"] == {
        "version": 1,
        "reason": "sensitive_topic",
        "priority": "urgent",
        "topic": "lost_or_stolen_card",
        "note": 'Customer reports a payment they did not make: "cloned"',
    }
