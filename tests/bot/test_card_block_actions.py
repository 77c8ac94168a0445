"""Lost or stolen card: the form's card check and action_block_card, on tracker fixtures. The fixtures' customer
messages carry the verified customer id "cust-0042" as the portal sends it (metadata), but card_block_anonymous."""

from __future__ import annotations

import asyncio

import pytest
from actions import card_block
from actions.attempts import AttemptsUnavailable, MemoryAttempts
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


CUSTOMER = "cust-0042"
FORM_SLOTS = ["card_last_four", "block_confirmed"]


class RecordingCore(InMemoryBankCore):
    """The demo core, remembering whose account each call was for."""

    def __init__(self) -> None:
        super().__init__()
        self.customers: list[str] = []

    def find_card(self, customer_id: str, last_four: str, *, timeout: float) -> Card | None:
        self.customers.append(customer_id)
        return super().find_card(customer_id, last_four, timeout=timeout)

    def block_card(self, customer_id: str, last_four: str, *, timeout: float) -> BlockedCard:
        self.customers.append(customer_id)
        return super().block_card(customer_id, last_four, timeout=timeout)


class BrokenStore:
    """A counter store that cannot be reached (Redis down)."""

    def count(self, key: str) -> int:
        raise AttemptsUnavailable("connection refused")

    def add(self, key: str, window_seconds: int) -> int:
        raise AttemptsUnavailable("connection refused")

    clear = count


@pytest.fixture
def core(monkeypatch):
    fresh = RecordingCore()
    monkeypatch.setattr(card_block, "bank_core", lambda: fresh)
    return fresh


@pytest.fixture(autouse=True)
def attempts(monkeypatch) -> MemoryAttempts:
    """The attempt counts, fresh for each test (the action server's store outlives conversations)."""
    store = MemoryAttempts()
    monkeypatch.setattr(card_block, "attempt_store", lambda: store)
    return store


def required(tracker, dispatcher, domain) -> list[str]:
    return asyncio.run(ValidateCardBlockForm().required_slots(FORM_SLOTS, dispatcher, tracker, domain))


def test_blocks_the_confirmed_card(core, dispatcher, domain):
    events = run_action(ActionBlockCard(), dispatcher, load_tracker("card_block_confirmed"), domain)

    assert events == RESET
    [message] = dispatcher.messages
    assert message["text"].startswith("Done: your Visa debit card ending 4242 is blocked")
    assert set(core.customers) == {CUSTOMER}  # the verified customer's account, not the conversation's id
    assert "(reference BLK-100001)" in message["text"]
    assert "3 to 5 working days" in message["text"]


def test_blocks_nothing_when_the_customer_says_no(core, dispatcher, domain):
    events = run_action(ActionBlockCard(), dispatcher, load_tracker("card_block_declined"), domain)

    assert events == RESET
    assert [m["response"] for m in dispatcher.messages] == ["utter_card_block_cancelled"]


def test_an_anonymous_customer_is_handed_off_and_no_card_is_touched(core, dispatcher, domain):
    tracker = load_tracker("card_block_anonymous")  # even one that got as far as confirming

    events = run_action(ActionBlockCard(), dispatcher, tracker, domain)

    assert events == RESET + [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "customer_not_verified"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert dispatcher.messages == [] and core.customers == []


def test_the_form_asks_an_anonymous_customer_nothing(core, dispatcher, domain):
    tracker = load_tracker("card_block_anonymous")

    assert required(tracker, dispatcher, domain) == []
    assert ValidateCardBlockForm().validate_card_last_four("4242", dispatcher, tracker, domain) == {
        "card_last_four": None
    }
    assert core.customers == []


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


def test_an_unknown_card_is_asked_again(core, dispatcher, domain, attempts):
    tracker = load_tracker("card_block_asking_digits")

    slots = ValidateCardBlockForm().validate_card_last_four("9999", dispatcher, tracker, domain)

    assert slots == {"card_last_four": None, "card_verification_attempts": 1}
    assert dispatcher.messages[0]["text"].startswith("I can't find a card ending 9999")
    assert attempts.count("customer:cust-0042") == 1


def test_the_last_allowed_attempt_fails_verification(core, dispatcher, domain, attempts):
    attempts.add("customer:cust-0042", 3600)  # a wrong answer earlier, maybe in another conversation
    tracker = load_tracker("card_block_asking_digits")

    slots = ValidateCardBlockForm().validate_card_last_four("9999", dispatcher, tracker, domain)

    assert slots == {
        "card_last_four": None,
        "card_verification_attempts": 2,
        "card_verification_failed": True,
    }


def test_attempts_count_per_customer_not_per_conversation(core, dispatcher, domain, attempts):
    """A restart (/restart, or a new conversation) wipes the slots, never the customer's count."""
    first = load_tracker("card_block_asking_digits")
    ValidateCardBlockForm().validate_card_last_four("9999", dispatcher, first, domain)
    later = load_tracker("card_block_asking_digits")
    later.sender_id = "another-conversation"
    later.slots["card_verification_attempts"] = 0.0  # a fresh conversation's slots

    slots = ValidateCardBlockForm().validate_card_last_four("1111", dispatcher, later, domain)

    assert slots["card_verification_failed"] is True and slots["card_verification_attempts"] == 2


def test_a_customer_out_of_attempts_is_asked_nothing_and_handed_off(core, dispatcher, domain, attempts):
    for _ in range(2):
        attempts.add("customer:cust-0042", 3600)
    tracker = load_tracker("card_block_confirmed")  # a new conversation, the card named and confirmed

    assert required(tracker, dispatcher, domain) == []
    events = run_action(ActionBlockCard(), dispatcher, tracker, domain)

    assert events[-2:] == [
        {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": "verification_failed"},
        {"event": "followup", "timestamp": None, "name": "action_handoff"},
    ]
    assert core.customers == []


def test_a_confirmed_card_clears_the_customers_wrong_answers(core, dispatcher, domain, attempts):
    attempts.add("customer:cust-0042", 3600)
    tracker = load_tracker("card_block_asking_digits")

    assert ValidateCardBlockForm().validate_card_last_four("4242", dispatcher, tracker, domain) == {
        "card_last_four": "4242"
    }
    assert attempts.count("customer:cust-0042") == 0


def test_a_count_that_cannot_be_read_hands_off_rather_than_letting_guesses_on(
    core, dispatcher, domain, monkeypatch
):
    monkeypatch.setattr(card_block, "attempt_store", BrokenStore)
    asking = load_tracker("card_block_asking_digits")

    assert required(asking, dispatcher, domain) == []
    assert ValidateCardBlockForm().validate_card_last_four("9999", dispatcher, asking, domain) == {
        "card_last_four": None,
        "card_verification_failed": True,
    }
    core.customers.clear()
    events = run_action(ActionBlockCard(), dispatcher, load_tracker("card_block_confirmed"), domain)
    assert events[-2]["value"] == "verification_failed" and core.customers == []  # no card blocked


def test_a_count_expires_after_its_window():
    store = MemoryAttempts()
    assert store.add("customer:x", 0) == 1  # a window of no time: over at once
    assert store.count("customer:x") == 0 and store.add("customer:x", 3600) == 1
    assert store.add("customer:x", 3600) == 2 and store.count("customer:x") == 2


def test_a_failed_verification_asks_nothing_more(dispatcher, domain):
    assert required(load_tracker("card_block_unverified"), dispatcher, domain) == []


def test_a_verified_customer_with_tries_left_is_asked_for_the_card(dispatcher, domain):
    assert required(load_tracker("card_block_asking_digits"), dispatcher, domain) == FORM_SLOTS


@pytest.mark.parametrize(
    "value, expected", [("4242", "4242"), ("****1881", "1881"), ("12345", None), ("", None)]
)
def test_four_digits(value, expected):
    assert card_block.four_digits(value) == expected
