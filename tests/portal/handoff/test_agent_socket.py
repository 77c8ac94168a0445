"""The agent socket over the real ASGI application: login and origin refusal, the live inbox, claiming,
chatting both ways, resolving and handing back — with the bot stand-in answering the customer."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from portal_support import (
    open_customer_socket,
    handoff_answer,
    is_message,
    is_type,
    queue_conversation,
    receive_all,
    receive_until,
    socket_headers,
    start_conversation,
)

from config.asgi import application
from conversations import transitions
from conversations.models import Conversation, Message
from conversations.sessions import session_token
from handoff.consumers import CLOSE_NOT_AN_AGENT

pytestmark = pytest.mark.django_db(transaction=True)


async def agent_socket(user: Any, origin: str = "http://localhost") -> WebsocketCommunicator:
    headers = await database_sync_to_async(socket_headers)(user, origin)
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def logged_in(user: Any) -> tuple[WebsocketCommunicator, dict]:
    communicator = await agent_socket(user)
    inbox = await communicator.receive_json_from()
    assert inbox["type"] == "inbox.snapshot"
    return communicator, inbox


async def customer_socket(conversation_id: Any) -> WebsocketCommunicator:
    communicator = await open_customer_socket(session_token(conversation_id))
    assert (await communicator.receive_json_from())["type"] == "conversation.snapshot"
    return communicator


async def test_an_anonymous_socket_is_refused_with_4403() -> None:
    communicator = await agent_socket(None)
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_NOT_AN_AGENT}


async def test_a_logged_in_user_who_is_not_an_agent_is_refused() -> None:
    customer_user = await database_sync_to_async(User.objects.create_user)(username="eve", password="pw")
    communicator = await agent_socket(customer_user)
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_NOT_AN_AGENT}


async def test_a_socket_from_another_origin_is_refused(alex: Any) -> None:
    headers = await database_sync_to_async(socket_headers)(alex, "http://evil.example")
    communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


async def test_staff_without_a_role_are_refused_and_superusers_hold_every_role() -> None:
    # is_staff opens the Django admin only; what a user may do here is their role's (agents/roles.py)
    staff = await database_sync_to_async(User.objects.create_user)(
        username="boss", password="pw", is_staff=True
    )
    communicator = await agent_socket(staff)
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_NOT_AN_AGENT}
    root = await database_sync_to_async(User.objects.create_superuser)(username="root", password="pw")
    communicator, _ = await logged_in(root)
    await communicator.disconnect()


async def test_the_inbox_holds_the_queue_and_my_conversations_most_urgent_first(alex: Any, sam: Any) -> None:
    def arrange() -> dict[str, str]:
        normal = queue_conversation(start_conversation(), priority="normal").conversation_id
        urgent = queue_conversation(start_conversation(), priority="urgent").conversation_id
        mine = queue_conversation(start_conversation()).conversation_id
        theirs = queue_conversation(start_conversation()).conversation_id
        transitions.conversation_claim(conversation_id=mine, agent=alex)
        transitions.conversation_claim(conversation_id=theirs, agent=sam)
        return {"normal": str(normal), "urgent": str(urgent), "mine": str(mine), "theirs": str(theirs)}

    ids = await database_sync_to_async(arrange)()
    agent, inbox = await logged_in(alex)
    listed = [(h["conversation_id"], h["status"]) for h in inbox["handoffs"]]
    assert listed == [(ids["urgent"], "queued"), (ids["normal"], "queued"), (ids["mine"], "assigned")]
    assert inbox["handoffs"][2]["agent"] == {"id": alex.pk, "display_name": "Alex"}
    await agent.disconnect()


async def test_a_whole_conversation_through_handoff_chat_and_hand_back(
    fake_rasa: Any, alex: Any, sam: Any
) -> None:
    fake_rasa.answer = handoff_answer(reason="sensitive_topic", priority="urgent")
    fake_rasa.tracker = {
        "slots": {"card_last_four": "4242"},
        "events": [
            {
                "event": "user",
                "parse_data": {
                    "intent": {"name": "report_fraud", "confidence": 0.93},
                    "intent_ranking": [{"name": "report_fraud", "confidence": 0.93}],
                    "entities": [
                        {
                            "entity": "card_last_four",
                            "value": "4242",
                            "start": 0,
                            "end": 4,
                            "extractor": "EntityRuler",
                        }
                    ],
                },
            }
        ],
    }
    conversation = await database_sync_to_async(start_conversation)()
    cid = str(conversation.pk)
    agent, _ = await logged_in(alex)
    other, _ = await logged_in(sam)
    customer = await customer_socket(conversation.pk)

    # The bot hands off: every agent sees it arrive live, with its context packet.
    await customer.send_json_to(
        {"type": "message.send", "client_id": "c1", "text": "payment on card ending 4242 I never made"}
    )
    for inbox in (agent, other):
        update = (await receive_until(inbox, is_type("handoff.updated")))[-1]["handoff"]
        assert (update["conversation_id"], update["status"], update["reason"], update["priority"]) == (
            cid,
            "queued",
            "sensitive_topic",
            "urgent",
        )
        assert update["context"]["intent"]["name"] == "report_fraud"
        assert update["context"]["entities"][0]["value"] == "4242"
    await receive_until(
        customer, lambda f: f.get("type") == "conversation.status" and f["status"] == "queued"
    )

    # Alex claims (and gets the conversation opened); Sam's claim loses.
    await agent.send_json_to({"type": "handoff.claim", "conversation_id": cid})
    frames = await receive_all(agent, is_type("conversation.snapshot"), is_type("handoff.updated"))
    snapshot = next(f for f in frames if f["type"] == "conversation.snapshot")
    assert (
        snapshot["conversation"]["status"] == "assigned"
        and snapshot["context"]["reason"]["code"] == "sensitive_topic"
    )
    await receive_until(customer, is_message("system", "Alex joined the conversation"))
    await receive_until(
        other, lambda f: f["type"] == "handoff.updated" and f["handoff"]["status"] == "assigned"
    )
    await other.send_json_to({"type": "handoff.claim", "conversation_id": cid})
    assert (await receive_until(other, is_type("error")))[-1]["code"] == "not_allowed"

    # They chat both ways; the bot stays silent.
    await agent.send_json_to(
        {"type": "message.send", "conversation_id": cid, "client_id": "a1", "text": "Hi, I'm Alex."}
    )
    ack = (await receive_until(agent, is_type("message.ack", client_id="a1")))[-1]
    assert ack["message"]["agent"] == {"display_name": "Alex"}
    await receive_until(customer, is_message("agent", "Hi, I'm Alex."))
    await customer.send_json_to(
        {"type": "message.send", "client_id": "c2", "text": "thanks, I didn't make it"}
    )
    await receive_until(agent, is_message("customer", "thanks, I didn't make it"))
    assert fake_rasa.bot_inputs() == ["payment on card ending 4242 I never made"]

    # Only Alex may write, resolve or hand back.
    await other.send_json_to(
        {"type": "message.send", "conversation_id": cid, "client_id": "s1", "text": "me too"}
    )
    assert (await receive_until(other, is_type("error")))[-1] == {
        "type": "error",
        "code": "not_allowed",
        "client_id": "s1",
        "detail": "only the agent the conversation is assigned to can write to the customer",
        "retry_after": None,
    }
    await other.send_json_to({"type": "conversation.hand_back", "conversation_id": cid})
    assert (await receive_until(other, is_type("error")))[-1]["code"] == "not_allowed"

    # Hand back: the bot forgets the conversation and answers again.
    fake_rasa.answer = lambda text: [{"text": f"bot again: {text}"}]
    await agent.send_json_to({"type": "conversation.hand_back", "conversation_id": cid})
    await receive_until(agent, lambda f: f["type"] == "handoff.updated" and f["handoff"]["status"] == "bot")
    await receive_until(customer, lambda f: f.get("type") == "conversation.status" and f["status"] == "bot")
    assert ("POST", f"/conversations/{cid}/tracker/events", [{"event": "restart"}]) in fake_rasa.requests
    await customer.send_json_to({"type": "message.send", "client_id": "c3", "text": "one more question"})
    await receive_until(customer, is_message("bot", "bot again: one more question"))

    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation_id=cid).order_by("id").values_list("sender", "text"))
    )()
    assert stored == [
        ("customer", "payment on card ending 4242 I never made"),
        ("bot", "I'm passing you to a colleague who can help with this."),
        ("system", "Alex joined the conversation"),
        ("agent", "Hi, I'm Alex."),
        ("customer", "thanks, I didn't make it"),
        ("system", "You're back with our virtual assistant"),
        ("customer", "one more question"),
        ("bot", "bot again: one more question"),
    ]
    for communicator in (agent, other, customer):
        await communicator.disconnect()


async def test_resolve_closes_the_conversation_for_everyone(alex: Any) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    await database_sync_to_async(queue_conversation)(conversation)
    cid = str(conversation.pk)
    agent, _ = await logged_in(alex)
    customer = await customer_socket(conversation.pk)
    await agent.send_json_to({"type": "handoff.claim", "conversation_id": cid})
    await receive_until(agent, is_type("conversation.snapshot"))
    await agent.send_json_to({"type": "conversation.resolve", "conversation_id": cid})
    update = (
        await receive_until(agent, lambda f: f["type"] == "handoff.updated" and f["handoff"]["closed_at"])
    )[-1]
    assert update["handoff"]["status"] == "resolved"
    await receive_until(
        customer, lambda f: f.get("type") == "conversation.status" and f["status"] == "resolved"
    )
    assert (await database_sync_to_async(Conversation.objects.get)(pk=cid)).status == "resolved"
    for communicator in (agent, customer):
        await communicator.disconnect()


async def test_an_agent_may_not_open_a_conversation_still_with_the_bot(alex: Any) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    agent, _ = await logged_in(alex)
    await agent.send_json_to({"type": "conversation.open", "conversation_id": str(conversation.pk)})
    error = await agent.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "not_allowed")
    await agent.disconnect()


async def test_a_supervisor_can_open_any_conversation_and_then_sees_it_live(sue: Any, fake_rasa: Any) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    cid = str(conversation.pk)
    agent, _ = await logged_in(sue)
    await agent.send_json_to({"type": "conversation.open", "conversation_id": cid})
    snapshot = await agent.receive_json_from()
    assert (snapshot["type"], snapshot["context"], snapshot["messages"]) == (
        "conversation.snapshot",
        None,
        [],
    )
    customer = await customer_socket(conversation.pk)
    await customer.send_json_to({"type": "message.send", "client_id": "c1", "text": "hi"})
    await receive_all(agent, is_message("customer", "hi"), is_message("bot", "echo: hi"))
    for communicator in (agent, customer):
        await communicator.disconnect()


@pytest.mark.parametrize(
    "frame,code",
    [
        ("{oops", "malformed_frame"),
        (json.dumps({"type": "inbox.refresh"}), "unknown_type"),
        (json.dumps({"type": "handoff.claim"}), "invalid_field"),
        (json.dumps({"type": "handoff.claim", "conversation_id": "42"}), "invalid_field"),
        (json.dumps({"type": "handoff.claim", "conversation_id": str(uuid.uuid4())}), "unknown_conversation"),
        (
            json.dumps({"type": "conversation.open", "conversation_id": str(uuid.uuid4())}),
            "unknown_conversation",
        ),
        (
            json.dumps({"type": "conversation.hand_back", "conversation_id": str(uuid.uuid4())}),
            "unknown_conversation",
        ),
        (
            json.dumps(
                {"type": "message.send", "conversation_id": str(uuid.uuid4()), "client_id": "a", "text": "x"}
            ),
            "unknown_conversation",
        ),
        (
            json.dumps({"type": "message.send", "conversation_id": str(uuid.uuid4()), "client_id": "a"}),
            "invalid_field",
        ),
        (
            json.dumps(
                {
                    "type": "message.send",
                    "conversation_id": str(uuid.uuid4()),
                    "client_id": "a",
                    "text": "x" * 2001,
                }
            ),
            "text_too_long",
        ),
        ("x" * 16385, "frame_too_large"),
    ],
)
async def test_a_bad_agent_frame_gets_an_error_frame(alex: Any, frame: str, code: str) -> None:
    agent, _ = await logged_in(alex)
    await agent.send_to(text_data=frame)
    error = await agent.receive_json_from()
    assert (error["type"], error["code"]) == ("error", code)
    await agent.send_json_to({"type": "ping"})
    assert await agent.receive_json_from() == {"type": "pong"}
    await agent.disconnect()


async def test_claiming_a_conversation_still_with_the_bot_is_not_allowed(alex: Any) -> None:
    conversation = await database_sync_to_async(start_conversation)()
    agent, _ = await logged_in(alex)
    await agent.send_json_to({"type": "handoff.claim", "conversation_id": str(conversation.pk)})
    assert (await agent.receive_json_from())["code"] == "not_allowed"
    await agent.disconnect()
