"""action_answer_faq: answers from bank_policy.yml; a repeated question or angry words hand off instead."""

from __future__ import annotations

from actions.bank_policy import bank_policy
from actions.faq import ActionAnswerFaq

from tests.bot.conftest import load_tracker, run_action

FRUSTRATION_HANDOFF = [
    {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "frustration"},
    {"event": "followup", "timestamp": None, "name": "action_handoff"},
]


def test_answers_from_the_bank_policy(dispatcher, domain):
    events = run_action(ActionAnswerFaq(), dispatcher, load_tracker("faq_first"), domain)

    assert events == []
    [message] = dispatcher.messages
    assert message["text"] == bank_policy().answer("opening_hours")
    assert "Saturday 9am to 1pm" in message["text"]  # the figure from bank_policy.yml's facts


def test_the_same_question_again_hands_off_for_frustration(dispatcher, domain):
    events = run_action(ActionAnswerFaq(), dispatcher, load_tracker("faq_asked_again"), domain)

    assert events == FRUSTRATION_HANDOFF
    assert dispatcher.messages == []


def test_angry_words_hand_off_instead_of_answering(dispatcher, domain):
    events = run_action(ActionAnswerFaq(), dispatcher, load_tracker("faq_angry"), domain)

    assert events == FRUSTRATION_HANDOFF
    assert dispatcher.messages == []
