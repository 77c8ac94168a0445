"""Every message of a conversation is numbered 1, 2, 3, … in the order stored, whoever writes it and however many
write at once; and a client that missed some asks for them by number (`messages.sync`) on either socket."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import close_old_connections, connection
from portal_support import (
    open_customer_socket,
    is_type,
    new_client_id,
    queue_conversation,
    receive_until,
    socket_headers,
    start_conversation,
)

from bot_gateway.client import BotReply, BotTurn
from config.asgi import application
from conversations import delivery, services, transitions
from conversations.models import Conversation, Message
from conversations.sessions import session_token

pytestmark = pytest.mark.django_db(transaction=True)


def seqs(conversation: Conversation) -> list[tuple[int, str]]:
    return list(Message.objects.filter(conversation=conversation).order_by("id").values_list("seq", "sender"))


def test_every_writer_numbers_the_conversations_next_message(alex: Any, no_delivery_task: list[str]) -> None:
    conversation = start_conversation()
    first = services.message_post_customer(conversation_id=conversation.pk, client_id="c1", text="hi")
    replies = BotTurn(replies=[BotReply(text="Hello"), BotReply(text="How can I help?")])
    delivery.record_bot_turn(message_id=first.pk, turn=replies, tracker=None)
    queue_conversation(conversation)
    transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)  # "Alex joined …"
    services.message_post_agent(conversation_id=conversation.pk, agent=alex, client_id="a1", text="Hi, Alex here")
    assert seqs(conversation) == [(1, "customer"), (2, "bot"), (3, "bot"), (4, "system"), (5, "agent")]
    conversation.refresh_from_db()
    assert conversation.last_seq == 5
    assert [m.seq for m in start_conversation().messages.all()] == []  # each conversation counts on its own


def test_a_resend_keeps_its_number_and_takes_none(no_delivery_task: list[str]) -> None:
    conversation = start_conversation()
    first = services.message_post_customer(conversation_id=conversation.pk, client_id="c1", text="hi")
    again = services.message_post_customer(conversation_id=conversation.pk, client_id="c1", text="hi")
    second = services.message_post_customer(conversation_id=conversation.pk, client_id="c2", text="there?")
    assert (first.seq, again.seq, second.seq) == (1, 1, 2)


def test_writers_at_once_never_share_a_number_nor_skip_one(no_delivery_task: list[str]) -> None:
    conversation = start_conversation()
    writers, per_writer = 4, 5
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for n in range(per_writer):
                services.message_post_customer(
                    conversation_id=conversation.pk, client_id=f"w{writer}-{n}", text=f"message {n}"
                )
        except BaseException as exc:  # noqa: BLE001 -- reported by the assertion below
            failures.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(seq for seq, _ in seqs(conversation)) == list(range(1, writers * per_writer + 1))


# --- messages.sync ---------------------------------------------------------------------------------------------


def conversation_with_messages(count: int) -> Conversation:
    conversation = start_conversation()
    for n in range(count):
        services.message_post_customer(conversation_id=conversation.pk, client_id=f"c{n}", text=f"message {n}")
    return conversation


async def customer_socket(conversation_id: Any) -> WebsocketCommunicator:
    communicator = await open_customer_socket(session_token(conversation_id))
    snapshot = await communicator.receive_json_from()
    assert [m["seq"] for m in snapshot["messages"]] == list(range(1, len(snapshot["messages"]) + 1))
    return communicator


async def test_the_customer_gets_the_messages_after_a_seq_in_order(no_delivery_task: list[str]) -> None:
    conversation = await database_sync_to_async(conversation_with_messages)(4)
    customer = await customer_socket(conversation.pk)
    await customer.send_json_to({"type": "messages.sync", "after_seq": 1})
    synced = await customer.receive_json_from()
    assert synced["type"] == "messages.synced"
    assert (synced["conversation_id"], synced["after_seq"]) == (str(conversation.pk), 1)
    assert [(m["seq"], m["text"]) for m in synced["messages"]] == [
        (2, "message 1"),
        (3, "message 2"),
        (4, "message 3"),
    ]
    await customer.send_json_to({"type": "messages.sync", "after_seq": 4})  # nothing missed: nothing sent
    assert (await customer.receive_json_from())["messages"] == []
    await customer.disconnect()


@pytest.mark.parametrize("after_seq", [-1, "2", 1.5, None, True])
async def test_a_bad_after_seq_gets_an_error_frame_and_the_socket_stays(after_seq: Any) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    customer = await customer_socket(conversation.pk)
    await customer.send_json_to({"type": "messages.sync", "after_seq": after_seq})
    error = await customer.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "invalid_field")
    assert "after_seq" in error["detail"]
    await customer.send_json_to({"type": "ping"})
    assert (await customer.receive_json_from())["type"] == "pong"
    await customer.disconnect()


async def agent_socket(user: Any) -> WebsocketCommunicator:
    headers = await database_sync_to_async(socket_headers)(user)
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from())["type"] == "inbox.snapshot"
    return communicator


async def test_an_agent_syncs_a_conversation_it_has_open(sue: Any, no_delivery_task: list[str]) -> None:
    conversation = await database_sync_to_async(conversation_with_messages)(3)
    agent = await agent_socket(sue)  # a supervisor: one still with the bot is theirs to open
    await agent.send_json_to({"type": "conversation.open", "conversation_id": str(conversation.pk)})
    await receive_until(agent, is_type("conversation.snapshot"))
    sync = {"type": "messages.sync", "conversation_id": str(conversation.pk), "after_seq": 2}
    await agent.send_json_to(sync)
    synced = await receive_until(agent, is_type("messages.synced"))
    assert [(m["seq"], m["text"]) for m in synced[-1]["messages"]] == [(3, "message 2")]
    await agent.disconnect()


async def test_an_agent_may_not_sync_a_conversation_it_has_not_opened(
    alex: Any, no_delivery_task: list[str]
) -> None:
    conversation = await database_sync_to_async(conversation_with_messages)(2)
    agent = await agent_socket(alex)
    for conversation_id in (str(conversation.pk), "699cd168-426d-46ed-9f34-5c11103a245f"):  # and an unknown one
        await agent.send_json_to({"type": "messages.sync", "conversation_id": conversation_id, "after_seq": 0})
        error = await agent.receive_json_from()
        assert (error["type"], error["code"]) == ("error", "not_allowed")
    await agent.send_json_to({"type": "messages.sync", "conversation_id": str(conversation.pk), "after_seq": -3})
    assert (await agent.receive_json_from())["code"] == "invalid_field"
    await agent.disconnect()


async def test_a_message_whose_event_never_came_is_recovered_by_its_number(
    alex: Any, no_delivery_task: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the clients do when the channel layer drops an event: the next message's seq shows the gap."""
    conversation = await database_sync_to_async(start_conversation)()
    customer = await customer_socket(conversation.pk)
    from conversations import events

    with monkeypatch.context() as dropped:
        dropped.setattr(events, "_send", lambda group, event: None)
        await database_sync_to_async(services.message_post_customer)(
            conversation_id=conversation.pk, client_id=new_client_id(), text="lost on the way"
        )
    await database_sync_to_async(services.message_post_customer)(
        conversation_id=conversation.pk, client_id=new_client_id(), text="arrives"
    )
    live = await customer.receive_json_from()
    assert (live["type"], live["message"]["seq"], live["message"]["text"]) == ("message.new", 2, "arrives")
    await customer.send_json_to({"type": "messages.sync", "after_seq": 0})  # the client had none: 2 is a gap
    synced = await customer.receive_json_from()
    assert [m["text"] for m in synced["messages"]] == ["lost on the way", "arrives"]
    await customer.disconnect()
