"""Whole conversations through the trained model and the real action server (in-process Rasa Agent):
the customer's words in, the bot's replies and the tracker out. `chat` is a verified customer's (the portal's
metadata on every message, a customer id of its own), `anonymous_chat` one the bank did not vouch for."""

from __future__ import annotations

import uuid

import pytest

from contracts.customer import CUSTOMER_ID_METADATA_KEY
from contracts.handoff import HandoffReason, HandoffRequest, Priority, parse_handoff


class Conversation:
    def __init__(self, agent, loop, customer_id: str | None = None) -> None:
        self.agent, self.loop, self.sender = agent, loop, str(uuid.uuid4())
        self.metadata = {CUSTOMER_ID_METADATA_KEY: customer_id} if customer_id else {}

    def say(self, text: str) -> list[dict]:
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        message = UserMessage(text, CollectingOutputChannel(), self.sender, metadata=self.metadata)
        return self.loop.run_until_complete(self.agent.handle_message(message)) or []

    def texts(self, text: str) -> str:
        return " ".join(m.get("text") or "" for m in self.say(text))

    def slot(self, name: str):
        tracker = self.loop.run_until_complete(self.agent.tracker_store.retrieve(self.sender))
        return tracker.get_slot(name)


def handoff_in(messages: list[dict]) -> HandoffRequest | None:
    return next((parse_handoff(m["custom"]) for m in messages if m.get("custom")), None)


@pytest.fixture
def customer_id() -> str:
    return f"cust-{uuid.uuid4().hex[:8]}"  # the action server's counts outlive a test: a customer of its own


@pytest.fixture
def chat(bot_agent, event_loop_for_bot, customer_id) -> Conversation:
    return Conversation(bot_agent, event_loop_for_bot, customer_id)


@pytest.fixture
def anonymous_chat(bot_agent, event_loop_for_bot) -> Conversation:
    return Conversation(bot_agent, event_loop_for_bot)


def test_greeting_then_a_routine_answer(chat):
    assert "Northbank's virtual assistant" in chat.texts("hi")
    assert "Saturday 9am to 1pm" in chat.texts("what time do you open on saturday")


def test_unrecognised_payment_hands_off_urgently_with_its_entities(chat):
    replies = chat.say(
        "there's a payment of £250 on my card ending 4242 I never made, I want to talk to someone"
    )

    request = handoff_in(replies)
    assert (request.reason, request.priority, request.topic) == (
        HandoffReason.SENSITIVE_TOPIC,
        Priority.URGENT,
        "report_fraud",
    )
    assert "connecting you with a member of our team" in replies[0]["text"]
    assert (chat.slot("amount"), chat.slot("card_last_four"), chat.slot("handoff_reason")) == (
        "£250",
        "4242",
        "sensitive_topic",
    )


def test_the_same_question_twice_hands_off_for_frustration(chat):
    chat.say("how do I change my PIN?")
    request = handoff_in(chat.say("how can I change my pin"))
    assert (request.reason, request.priority, request.topic) == (
        HandoffReason.FRUSTRATION,
        Priority.HIGH,
        "pin",
    )


def test_lost_card_is_confirmed_then_blocked(chat):
    assert "last four digits" in chat.texts("I lost my card")
    assert "can't find a card ending 9999" in chat.texts("9999")
    assert "block your card ending 4242" in chat.texts("it's 4242")
    assert "Visa debit card ending 4242 is blocked" in chat.texts("yes")


def test_lost_card_that_cannot_be_confirmed_goes_to_a_person(chat):
    chat.say("my card was stolen")
    chat.say("1111")
    request = handoff_in(chat.say("2222"))
    assert (request.reason, request.topic) == (HandoffReason.VERIFICATION_FAILED, "lost_or_stolen_card")


def test_a_lost_card_of_an_anonymous_customer_goes_to_a_person_without_a_question(anonymous_chat):
    replies = anonymous_chat.say("I lost my card")
    request = handoff_in(replies)
    assert (request.reason, request.priority, request.topic) == (
        HandoffReason.CUSTOMER_NOT_VERIFIED,
        Priority.HIGH,
        "lost_or_stolen_card",
    )
    assert "last four digits" not in " ".join(m.get("text") or "" for m in replies)


def test_a_lost_card_named_at_once_by_an_anonymous_customer_goes_to_a_person(anonymous_chat):
    request = handoff_in(anonymous_chat.say("my card ending 4242 was stolen"))
    assert request.reason is HandoffReason.CUSTOMER_NOT_VERIFIED


def test_wrong_answers_count_across_the_customers_conversations(bot_agent, event_loop_for_bot, customer_id):
    first = Conversation(bot_agent, event_loop_for_bot, customer_id)
    first.say("I lost my card")
    assert "can't find a card ending 1111" in first.texts("1111")
    later = Conversation(bot_agent, event_loop_for_bot, customer_id)  # a new conversation: fresh slots
    later.say("my card was stolen")
    request = handoff_in(later.say("2222"))
    assert (request.reason, request.topic) == (HandoffReason.VERIFICATION_FAILED, "lost_or_stolen_card")
    out_of_tries = Conversation(bot_agent, event_loop_for_bot, customer_id)  # asked nothing any more
    assert handoff_in(out_of_tries.say("I lost my card")).reason is HandoffReason.VERIFICATION_FAILED


def test_out_of_scope_is_declined_and_the_offer_of_a_person_accepted(chat):
    assert "not something I can help with" in chat.texts("tell me a joke")
    request = handoff_in(chat.say("yes please"))
    assert (request.reason, request.priority, request.topic) == (
        HandoffReason.OUT_OF_SCOPE_OFFER_ACCEPTED,
        Priority.LOW,
        "out_of_scope",
    )


def test_not_understood_twice_goes_to_a_person(chat):
    # "/nlu_fallback" is what the FallbackClassifier makes of a message it cannot place (with no best guess,
    # the bot asks to rephrase straight away; the "did you mean" step is unit-tested).
    assert "say it in a different way" in chat.texts("/nlu_fallback")
    request = handoff_in(chat.say("/nlu_fallback"))
    assert (request.reason, request.priority, request.topic) == (
        HandoffReason.LOW_CONFIDENCE,
        Priority.NORMAL,
        "nlu_fallback",
    )
