"""Lost or stolen card: the form's card check and action_block_card, on tracker fixtures."""

from __future__ import annotations

import asyncio

import pytest
from actions import card_block
from actions.bank_core import BankCoreUnavailable, BlockedCard, Card, InMemoryBankCore
from actions.card_block import ActionBlockCard, ValidateCardBlockForm

from tests.bot.conftest import load_tracker, run_action

RESET = [
    {"event": "slot", "timestamp": None, "name": "block_confirmed", "value": None},
    {"event": "slot", "timestamp": None, "name": "card_verification_attempts", "value": None},
    {"event": "slot", "timestamp": None, "name": "card_verification_failed", "value": None},
]


class UnreachableCore:
    """A core that times out: the bot must not claim the card is blocked."""

    def find_card(self, customer_id: str, last_four: str, *, timeout: float) -> Card | None:
        raise BankCoreUnavailable("timed out")

    def block_card(self, customer_id: str, last_four: str, *, timeout: float) -> BlockedCard:
        raise BankCoreUnavailable("timed out")


@pytest.fixture
def core(monkeypatch):
    fresh = InMemoryBankCore()
    monkeypatch.setattr(card_block, "bank_core", lambda: fresh)
    return fresh


def test_blocks_the_confirmed_card(core, dispatcher, domain):
    events = run_action(ActionBlockCard(), dispatcher, load_tracker("card_block_confirmed"), domain)

    assert events == RESET
    [message] = dispatcher.messages
    assert message["text"].startswith("Done: your Visa debit card ending 4242 is blocked")
    assert "(reference BLK-100001)" in message["text"]
    assert "3 to 5 working days" in message["text"]


def test_blocks_nothing_when_the_customer_says_no(core, dispatcher, domain):
    events = run_action(ActionBlockCard(), dispatcher, load_tracker("card_block_declined"), domain)

    assert events == RESET
    assert [m["response"] for m in dispatcher.messages] == ["utter_card_block_cancelled"]


def test_an_unconfirmed_card_goes_to_a_person(core, dispatcher, domain):
    events = run_action(ActionBlockCard(), dispatcher, load_tracker("card_block_unverified"), domain)

    assert events == RESET + [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "verification_failed"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert dispatcher.messages == []


def test_a_core_outage_hands_off_urgently(monkeypatch, dispatcher, domain):
    monkeypatch.setattr(card_block, "bank_core", UnreachableCore)

    events = run_action(ActionBlockCard(), dispatcher, load_tracker("card_block_confirmed"), domain)

    assert events == RESET + [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "sensitive_topic"},
        {
            "event": "slot",
            "timestamp": None,
            "name": "handoff_note",
            "value": "Card ending 4242 NOT blocked: the bank core did not answer. Block it now.",
        },
        {"event": "slot", "timestamp": None, "name": "handoff_priority", "value": "urgent"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert dispatcher.messages == []


def test_accepts_a_card_of_the_customer_in_masked_form(core, dispatcher, domain):
    tracker = load_tracker("card_block_asking_digits")

    assert ValidateCardBlockForm().validate_card_last_four("****4242", dispatcher, tracker, domain) == {
        "card_last_four": "4242"
    }
    assert dispatcher.messages == []


def test_an_unknown_card_is_asked_again(core, dispatcher, domain):
    tracker = load_tracker("card_block_asking_digits")

    slots = ValidateCardBlockForm().validate_card_last_four("9999", dispatcher, tracker, domain)

    assert slots == {"card_last_four": None, "card_verification_attempts": 1}
    assert dispatcher.messages[0]["text"].startswith("I can't find a card ending 9999")


def test_the_last_allowed_attempt_fails_verification(core, dispatcher, domain):
    tracker = load_tracker("card_block_asking_digits")
    tracker.slots["card_verification_attempts"] = 1.0

    slots = ValidateCardBlockForm().validate_card_last_four("9999", dispatcher, tracker, domain)

    assert slots == {
        "card_last_four": None,
        "card_verification_attempts": 2,
        "card_verification_failed": True,
    }


def test_a_failed_verification_asks_nothing_more(dispatcher, domain):
    tracker = load_tracker("card_block_unverified")
    form = ValidateCardBlockForm()

    required = form.required_slots(["card_last_four", "block_confirmed"], dispatcher, tracker, domain)
    assert asyncio.run(required) == []


@pytest.mark.parametrize(
    "value, expected", [("4242", "4242"), ("****1881", "1881"), ("12345", None), ("", None)]
)
def test_four_digits(value, expected):
    assert card_block.four_digits(value) == expected
