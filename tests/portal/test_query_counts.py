"""How many SQL statements each hot path runs, exactly, so a change that adds one shows here before a benchmark.

A path that needs one more query for a good reason updates its number here, and the comment above it that says
what the queries are. Transaction control (BEGIN, SAVEPOINT) is not counted: it differs between SQLite and
PostgreSQL; the counts are the same on both.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from portal_support import (
    open_customer_socket,
    assert_query_count,
    handoff_answer,
    is_type,
    new_client_id,
    queue_conversation,
    receive_until,
    socket_headers,
    start_conversation,
    store_message,
)

from bot_gateway.client import BotReply, BotTurn, _turn_from_rest_messages
from config.asgi import application
from conversations import delivery, services, tasks, transitions
from conversations.models import Conversation, Delivery, Message, Sender
from conversations.sessions import session_token

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, as in production: on_commit work runs

TRACKER = {
    "slots": {"card_last_four": "4242"},
    "events": [{"event": "user", "parse_data": {"intent": {"name": "report_fraud", "confidence": 0.93}}}],
}


def pending_message(conversation: Conversation, text: str = "hi") -> Message:
    return store_message(conversation.pk, sender=Sender.CUSTOMER, text=text, delivery=Delivery.PENDING)


@pytest.fixture
def agent(alex: Any) -> Any:
    """Alex as a socket has them: the user alone, the profile (the display name) not yet loaded."""
    return User.objects.get(pk=alex.pk)


def assigned_conversation(agent: Any) -> Conversation:
    conversation = start_conversation()
    queue_conversation(conversation)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=agent)
    return conversation


# --- a customer message --------------------------------------------------------------------------------------


def test_a_customer_message_to_the_bot(no_delivery_task: list[int]) -> None:
    conversation = start_conversation()
    # lock the conversation by counting its last_seq up, read it with any resend of the client_id, insert the
    # message (before: 3, no seq; 4, a lock, a resend check and the counter's save apart)
    with assert_query_count(3):
        services.message_post_customer(conversation_id=conversation.pk, client_id=new_client_id(), text="hi")
    assert len(no_delivery_task) == 1


def test_a_customer_choosing_a_button(no_delivery_task: list[int]) -> None:
    conversation = start_conversation()
    offer = [{"title": "Yes", "payload": "/affirm"}]
    store_message(conversation.pk, sender=Sender.BOT, text="Block it?", buttons=offer)
    # a typed message's three, and one more: read the bot's open offer, to check the payload is in it
    with assert_query_count(4):
        services.message_post_customer(
            conversation_id=conversation.pk, client_id=new_client_id(), text="Yes", payload="/affirm"
        )
    assert len(no_delivery_task) == 1


async def test_a_customer_message_over_the_socket(no_delivery_task: list[int]) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    customer = await open_customer_socket(session_token(conversation.pk))
    await customer.receive_json_from()  # the snapshot
    # the service's three; the view of the message needs nothing more
    with assert_query_count(3):
        await customer.send_json_to({"type": "message.send", "client_id": "c1", "text": "hi"})
        await receive_until(customer, is_type("message.ack"))
    await customer.disconnect()


# --- a bot turn ----------------------------------------------------------------------------------------------


def test_a_bot_turn_that_answers() -> None:
    message = pending_message(start_conversation())
    turn = BotTurn(replies=[BotReply(text="We open at 9."), BotReply(text="Anything else?")])
    # lock the conversation (found by the message), mark the message delivered if it is still unanswered, insert
    # each reply, save the conversation's last_seq once for all of them (before: 4, no seq; 5, the message was
    # locked and read before it was marked)
    with assert_query_count(5):
        delivery.record_bot_turn(message_id=message.pk, turn=turn, tracker=None)


def test_a_bot_turn_that_hands_off() -> None:
    message = pending_message(start_conversation(), "someone took money from my card")
    turn = _turn_from_rest_messages(handoff_answer()(message.text))
    # the answered turn's three for one reply, then the transcript for the context packet; the transition locks
    # the conversation again (it is its own transaction elsewhere), moves it to queued, inserts the handoff
    # (before: 7, no seq's save among the answered turn's queries; 8)
    with assert_query_count(8):
        delivery.record_bot_turn(message_id=message.pk, turn=turn, tracker=TRACKER)


def test_the_whole_delivery_task(fake_rasa: Any) -> None:
    message = pending_message(start_conversation())
    # take the message for the bot (lock the conversation, its oldest unanswered message, mark it sending), count
    # the attempt, the answered turn's four, then look for a next message waiting (before: 8, no seq; 6, one
    # message was loaded and sent whether or not another of its conversation was with the bot)
    with assert_query_count(9):
        tasks.deliver_to_bot(str(message.conversation_id))
    assert Message.objects.filter(conversation=message.conversation, sender=Sender.BOT).count() == 1


# --- agents --------------------------------------------------------------------------------------------------


def test_an_agent_message(alex: Any, agent: Any) -> None:
    conversation = assigned_conversation(alex)
    # lock the conversation by counting its last_seq up, read it with any resend of the client_id, insert the
    # message, insert its audit record, and the agent's profile for the name in the message's view (once per user
    # instance: a socket's user keeps it for the connection) (before: 5, no audit record; 4, no seq; 6, a lock,
    # a resend check and the counter's save apart)
    with assert_query_count(5):
        services.message_post_agent(
            conversation_id=conversation.pk, agent=agent, client_id=new_client_id(), text="Hi, I'm Alex."
        )


async def test_an_agent_message_over_the_socket(alex: Any) -> None:
    conversation = await database_sync_to_async(assigned_conversation)(alex)
    agent = WebsocketCommunicator(
        application, "/ws/agent/", headers=await database_sync_to_async(socket_headers)(alex)
    )
    assert (await agent.connect())[0]
    await agent.receive_json_from()  # the inbox
    frame = {"type": "message.send", "conversation_id": str(conversation.pk), "client_id": "a1", "text": "Hi"}
    # the user's access read again (one query, agents/roles.py), then the service's five (the profile: this
    # socket's first use of it) (before: 5, no access check and no audit record; 7, the service's six)
    with assert_query_count(6):
        await agent.send_json_to(frame)
        await receive_until(agent, is_type("message.ack"))
    await agent.disconnect()


def test_a_claim(agent: Any) -> None:
    conversation = start_conversation()
    queue_conversation(conversation)
    # lock the conversation, move it to assigned, lock the open handoff, mark it claimed, the agent's profile
    # for the notice, insert the notice ("Alex joined the conversation"), save the conversation's last_seq, insert
    # the audit record (before: 7, no audit record; 6, no seq)
    with assert_query_count(8):
        transitions.conversation_claim(conversation_id=conversation.pk, agent=agent)
