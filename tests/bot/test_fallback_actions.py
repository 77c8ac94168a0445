"""The two-stage fallback's custom steps: the affirmation question, repeated fallback, giving up."""

from __future__ import annotations

from actions.fallback import ActionDefaultAskAffirmation, ActionDefaultFallback

from tests.bot.conftest import load_tracker, run_action


def test_asks_to_affirm_the_best_guess_in_words(dispatcher, domain):
    events = run_action(ActionDefaultAskAffirmation(), dispatcher, load_tracker("fallback_first"), domain)

    assert events == []
    [message] = dispatcher.messages
    assert message["text"] == "Sorry, I'm not sure I understood. Did you mean a question about your PIN?"
    assert message["buttons"] == [
        {"title": "Yes", "payload": "/pin"},
        {"title": "No", "payload": "/out_of_scope"},
    ]


def test_the_third_misunderstanding_hands_off(dispatcher, domain):
    events = run_action(ActionDefaultAskAffirmation(), dispatcher, load_tracker("fallback_third"), domain)

    assert events == [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "repeated_fallback"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert dispatcher.messages == []


def test_giving_up_hands_off_for_low_confidence(dispatcher, domain):
    events = run_action(ActionDefaultFallback(), dispatcher, load_tracker("fallback_first"), domain)

    assert events == [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "low_confidence"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert dispatcher.messages == []


def test_an_unsure_guess_at_a_sensitive_topic_hands_off_without_quizzing(dispatcher, domain):
    events = run_action(
        ActionDefaultAskAffirmation(), dispatcher, load_tracker("fallback_sensitive_guess"), domain
    )

    assert events == [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "sensitive_topic"},
        {
            "event": "slot",
            "timestamp": None,
            "name": "handoff_note",
            "value": "Customer reports a payment they did not make (the bot was unsure: best guess report_fraud)",
        },
        {"event": "slot", "timestamp": None, "name": "handoff_priority", "value": "urgent"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert dispatcher.messages == []
