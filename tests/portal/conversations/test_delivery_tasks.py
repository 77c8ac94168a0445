"""Celery tasks, run eagerly: a customer message reaches the bot; the bot's handoff queues the conversation;
a bot that is down or silent fails open to a person; nothing is delivered twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from portal_support import handoff_answer, new_client_id, queue_conversation, start_conversation, store_message

from bot_gateway.client import BotTurn
from conversations import delivery, services, tasks, transitions
from conversations.delivery import BOT_UNAVAILABLE_NOTICE
from conversations.models import ConversationStatus, Delivery, Handoff, Message, Sender

pytestmark = pytest.mark.django_db(transaction=True)  # tasks are queued on commit: let commits happen


def say(conversation: Any, text: str, **kwargs: Any) -> Message:
    message = services.message_post_customer(
        conversation_id=conversation.pk, client_id=new_client_id(), text=text, **kwargs
    )
    message.refresh_from_db()
    return message


def transcript(conversation: Any) -> list[tuple[str, str]]:
    return list(
        Message.objects.filter(conversation=conversation)
        .order_by("created_at", "id")
        .values_list("sender", "text")
    )


def test_a_customer_message_reaches_the_bot_and_its_answer_is_stored(fake_rasa: Any) -> None:
    conversation = start_conversation()
    message = say(conversation, "what time do you open on saturday")
    assert (message.delivery, message.delivery_attempts) == (Delivery.DELIVERED, 1)
    assert fake_rasa.bot_inputs() == ["what time do you open on saturday"]
    assert transcript(conversation) == [
        ("customer", "what time do you open on saturday"),
        ("bot", "echo: what time do you open on saturday"),
    ]


def test_card_numbers_are_masked_before_they_are_stored_or_sent(fake_rasa: Any) -> None:
    conversation = start_conversation()
    message = say(conversation, "my card 4242 4242 4242 4242 was taken")
    assert message.text == "my card ****4242 was taken"
    assert fake_rasa.bot_inputs() == ["my card ****4242 was taken"]


OFFER = [{"title": "Yes, block it", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def offer_buttons(conversation: Any, buttons: list[dict[str, str]] = OFFER) -> None:
    store_message(conversation.pk, sender=Sender.BOT, text="Block it?", buttons=buttons)


def test_an_offered_buttons_payload_goes_to_the_bot_as_a_button_and_its_title_is_stored(fake_rasa: Any) -> None:
    conversation = start_conversation()
    offer_buttons(conversation)
    message = say(conversation, "whatever the client says", payload="/affirm")
    assert (message.text, message.payload, fake_rasa.bot_inputs()) == ("Yes, block it", "/affirm", ["/affirm"])
    sent = [body for _, path, body in fake_rasa.requests if path.startswith("/webhooks/rest/webhook")]
    assert sent[0]["metadata"] == {"switchboard_message_id": message.pk, "switchboard_button": True}


def test_typed_text_goes_to_the_bot_without_the_button_flag(fake_rasa: Any) -> None:
    conversation = start_conversation()
    message = say(conversation, "hi")
    sent = [body for _, path, body in fake_rasa.requests if path.startswith("/webhooks/rest/webhook")]
    assert sent[0]["metadata"] == {"switchboard_message_id": message.pk}


def test_a_verified_customers_messages_tell_the_bot_who_the_customer_is(fake_rasa: Any) -> None:
    conversation = services.conversation_start(customer_id="cust-0042")
    first, second = say(conversation, "hi"), say(conversation, "my card is lost")
    sent = [body for _, path, body in fake_rasa.requests if path.startswith("/webhooks/rest/webhook")]
    assert [body["metadata"] for body in sent] == [
        {"switchboard_message_id": first.pk, "switchboard_customer_id": "cust-0042"},
        {"switchboard_message_id": second.pk, "switchboard_customer_id": "cust-0042"},
    ]


def refused_button(conversation: Any, payload: str) -> None:
    with pytest.raises(services.ButtonNotOffered):
        say(conversation, "Yes", payload=payload)


def test_a_payload_the_bot_never_offered_is_refused_and_nothing_is_stored(fake_rasa: Any) -> None:
    conversation = start_conversation()
    refused_button(conversation, "/report_fraud")  # no offer at all
    offer_buttons(conversation)
    refused_button(conversation, "/report_fraud")  # not in the offer
    refused_button(conversation, "/affirm ")  # not exactly a button's payload
    refused_button(conversation, "Yes, block it")  # a title is not a payload
    assert list(Message.objects.filter(sender="customer")) == []
    assert fake_rasa.bot_inputs() == []


def test_a_button_is_used_up_by_an_answer(fake_rasa: Any) -> None:
    conversation = start_conversation()
    offer_buttons(conversation)
    say(conversation, "Yes", payload="/affirm")
    refused_button(conversation, "/affirm")  # the same button again, from a new client_id
    offer_buttons(conversation)
    say(conversation, "something else")  # a typed answer uses the offer up too
    refused_button(conversation, "/deny")
    assert fake_rasa.bot_inputs() == ["/affirm", "something else"]


def test_a_later_offer_replaces_an_earlier_one(fake_rasa: Any) -> None:
    conversation = start_conversation()
    offer_buttons(conversation)
    offer_buttons(conversation, [{"title": "Cards", "payload": "/cards"}])
    refused_button(conversation, "/affirm")
    assert say(conversation, "Cards", payload="/cards").text == "Cards"


def test_a_resent_button_choice_is_acked_again_not_refused(fake_rasa: Any) -> None:
    conversation = start_conversation()
    offer_buttons(conversation)
    first = services.message_post_customer(
        conversation_id=conversation.pk, client_id="same", text="Yes", payload="/affirm"
    )
    again = services.message_post_customer(
        conversation_id=conversation.pk, client_id="same", text="Yes", payload="/affirm"
    )
    assert first.pk == again.pk
    assert fake_rasa.bot_inputs() == ["/affirm"]


def test_a_resent_message_is_stored_and_delivered_once(fake_rasa: Any) -> None:
    conversation = start_conversation()
    first = services.message_post_customer(conversation_id=conversation.pk, client_id="same", text="hi")
    again = services.message_post_customer(conversation_id=conversation.pk, client_id="same", text="hi")
    assert first.pk == again.pk
    assert fake_rasa.bot_inputs() == ["hi"]
    tasks.deliver_to_bot(str(conversation.pk))  # a redelivered task finds the work done
    assert fake_rasa.bot_inputs() == ["hi"]


def test_the_bots_handoff_queues_the_conversation_with_its_context(fake_rasa: Any) -> None:
    conversation = start_conversation()
    say(conversation, "hello")
    fake_rasa.answer = handoff_answer(reason="sensitive_topic", priority="urgent")
    fake_rasa.tracker = {
        "slots": {"card_last_four": "4242"},
        "events": [{"event": "user", "parse_data": {"intent": {"name": "report_fraud", "confidence": 0.9}}}],
    }
    message = say(conversation, "someone took £250 from my card ending 4242")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.QUEUED
    handoff = Handoff.objects.get(conversation=conversation)
    assert (handoff.reason, handoff.priority) == ("sensitive_topic", "urgent")
    assert handoff.message == message  # the message whose turn asked for it, not the conversation's first
    assert handoff.context["intent"] == {"name": "report_fraud", "confidence": 0.9}
    assert handoff.context["slots"] == {"card_last_four": "4242"}
    assert [line["sender"] for line in handoff.context["transcript"]] == ["customer", "bot", "customer", "bot"]
    assert handoff.context["customer"] == {"verified": False, "id": None}


def test_a_verified_customers_handoff_tells_the_agent_who_they_are(fake_rasa: Any) -> None:
    fake_rasa.answer = handoff_answer()
    conversation = services.conversation_start(customer_id="cust-0042")
    say(conversation, "someone took £250 from my card")
    handoff = Handoff.objects.get(conversation=conversation)
    assert handoff.context["customer"] == {"verified": True, "id": "cust-0042"}


def test_the_bot_is_silent_while_a_person_has_the_conversation(fake_rasa: Any, alex: Any) -> None:
    conversation = start_conversation()
    queue_conversation(conversation)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    message = say(conversation, "are you still there?")
    assert message.delivery == Delivery.SKIPPED
    assert fake_rasa.bot_inputs() == []


def test_a_message_the_bot_had_not_reached_when_a_person_took_over_is_skipped(fake_rasa: Any) -> None:
    conversation = start_conversation()
    message = store_message(conversation.pk, sender="customer", text="hi", delivery=Delivery.PENDING
    )
    queue_conversation(conversation)
    tasks.deliver_to_bot(str(conversation.pk))
    message.refresh_from_db()
    assert message.delivery == Delivery.SKIPPED and fake_rasa.bot_inputs() == []


def test_bot_down_fails_open_keeps_the_message_and_tells_the_customer(rasa_down: None) -> None:
    conversation = start_conversation()
    message = say(conversation, "hi")
    conversation.refresh_from_db()
    assert message.delivery == Delivery.FAILED
    assert conversation.status == ConversationStatus.QUEUED
    assert transcript(conversation) == [("customer", "hi"), ("system", BOT_UNAVAILABLE_NOTICE)]
    handoff = Handoff.objects.get(conversation=conversation)
    assert (handoff.reason, handoff.message) == ("bot_unavailable", message)
    assert handoff.context["intent"] is None and handoff.context["transcript"][0]["text"] == "hi"


def test_a_bot_turn_without_a_reply_fails_open(fake_rasa: Any) -> None:
    """As when the action server fails: Rasa drops the action's events and ends the turn having said nothing."""
    fake_rasa.answer = lambda text: []
    conversation = start_conversation()
    message = say(conversation, "hi")
    conversation.refresh_from_db()
    assert (message.delivery, conversation.status) == (Delivery.FAILED, ConversationStatus.QUEUED)
    assert transcript(conversation) == [("customer", "hi"), ("system", BOT_UNAVAILABLE_NOTICE)]
    handoff = Handoff.objects.get(conversation=conversation)
    assert (handoff.reason, handoff.context["note"]) == ("bot_unavailable", "the bot's turn ended without a reply")


def test_a_bot_that_cannot_be_reached_is_tried_again_before_failing_open(
    rasa_down: None, settings: Any
) -> None:
    settings.BOT_DELIVERY_ATTEMPTS = 3
    message = say(start_conversation(), "hi")
    assert (message.delivery, message.delivery_attempts) == (Delivery.FAILED, 3)


def test_a_bot_answering_an_error_is_not_sent_the_message_again(fake_rasa: Any, settings: Any) -> None:
    """The bot may have run the turn before failing: the portal looks in the tracker, it never resends."""
    settings.BOT_DELIVERY_ATTEMPTS = 3
    fake_rasa.status = 503
    message = say(start_conversation(), "hi")
    assert (message.delivery, message.delivery_attempts) == (Delivery.FAILED, 1)
    assert len(fake_rasa.bot_inputs()) == 1
    tracker_path = f"/conversations/{message.conversation_id}/tracker"
    assert [path for _, path, _ in fake_rasa.requests].count(tracker_path) == 2  # tries 2 and 3


def test_a_turn_whose_answer_timed_out_is_taken_from_the_tracker_not_run_again(
    fake_rasa: Any, settings: Any
) -> None:
    settings.RASA_TIMEOUT_SECONDS = 0.3
    fake_rasa.stall_next = 1.0  # the bot runs the turn, but its answer comes after the read timeout
    conversation = start_conversation()
    message = say(conversation, "hi")
    assert (message.delivery, message.delivery_attempts) == (Delivery.DELIVERED, 1)
    assert fake_rasa.bot_inputs() == ["hi"]
    assert transcript(conversation) == [("customer", "hi"), ("bot", "echo: hi")]


def test_a_timed_out_turn_not_in_the_tracker_fails_open_without_a_resend(
    fake_rasa: Any, settings: Any
) -> None:
    settings.RASA_TIMEOUT_SECONDS = 0.3
    fake_rasa.stall_next = 1.0
    fake_rasa.tracker = {"slots": {}, "events": []}  # as if the bot were still running the turn
    conversation = start_conversation()
    message = say(conversation, "hi")
    assert (message.delivery, message.delivery_attempts) == (Delivery.FAILED, 1)
    assert fake_rasa.bot_inputs() == ["hi"]
    assert transcript(conversation) == [("customer", "hi"), ("system", BOT_UNAVAILABLE_NOTICE)]


def test_a_conversations_messages_are_taken_for_the_bot_one_at_a_time_oldest_first() -> None:
    conversation = start_conversation()
    first, second = (
        store_message(conversation.pk, sender="customer", text=t, delivery=Delivery.PENDING)
        for t in ("first", "second")
    )
    taken = delivery.message_take_for_bot(conversation_id=conversation.pk)
    assert taken is not None and taken.pk == first.pk
    assert delivery.message_take_for_bot(conversation_id=conversation.pk) is None  # first is with the bot
    delivery.record_bot_turn(message_id=first.pk, turn=BotTurn(replies=[]), tracker=None)
    taken = delivery.message_take_for_bot(conversation_id=conversation.pk)
    assert taken is not None and taken.pk == second.pk
    assert Message.objects.get(pk=second.pk).delivery == Delivery.SENDING


def test_the_sweep_hands_off_messages_left_undelivered(fake_rasa: Any, settings: Any) -> None:
    conversation = start_conversation()
    # As if the worker died with the task: stored, pending, never answered.
    stale = store_message(conversation.pk, sender="customer", text="hello?", delivery=Delivery.PENDING
    )
    Message.objects.filter(pk=stale.pk).update(
        created_at=stale.created_at - timedelta(seconds=settings.BOT_DELIVERY_DEADLINE_SECONDS + 1)
    )
    fresh = start_conversation()
    store_message(fresh.pk, sender="customer", text="just now", delivery=Delivery.PENDING)

    assert tasks.sweep_undelivered_messages() == 1
    conversation.refresh_from_db()
    fresh.refresh_from_db()
    assert (conversation.status, fresh.status) == (ConversationStatus.QUEUED, ConversationStatus.BOT)
    assert Handoff.objects.get(conversation=conversation).reason == "bot_unavailable"
    assert tasks.sweep_undelivered_messages() == 0


def test_a_resolved_conversation_takes_no_more_messages(alex: Any) -> None:
    conversation = start_conversation()
    queue_conversation(conversation)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
    transitions.conversation_resolve(conversation_id=conversation.pk, agent=alex)
    with pytest.raises(services.ConversationClosed):
        say(conversation, "one more thing")
