"""The customer socket over the real ASGI application: sessions, auth refusal, snapshots, messages, bad frames."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core import signing
from django.test import Client
from portal_support import (
    is_message,
    is_type,
    open_customer_socket,
    queue_conversation,
    receive_all,
    receive_until,
    store_message,
)

from config.asgi import application
from conversations import transitions
from conversations.consumers import CLOSE_AUTH_TIMEOUT, CLOSE_BAD_TOKEN, CLOSE_UNKNOWN_CONVERSATION
from conversations.models import Conversation, Message
from conversations.sessions import SESSION_SALT, session_token

pytestmark = pytest.mark.django_db(transaction=True)


def new_session() -> dict[str, str]:
    response = Client().post("/api/widget/sessions")
    assert response.status_code == 201
    return response.json()


async def connect(path: str = "/ws/customer/") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def open_session(session: dict[str, str]) -> tuple[WebsocketCommunicator, dict]:
    communicator = await open_customer_socket(session["token"])
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "conversation.snapshot"
    return communicator, snapshot


async def assert_closed_at_once(communicator: WebsocketCommunicator, code: int) -> None:
    """Closed with `code`, and not a frame sent before."""
    assert await communicator.receive_output() == {"type": "websocket.close", "code": code}


async def assert_refused(token: str | None, code: int) -> None:
    communicator = await connect()
    await communicator.send_json_to({"type": "auth"} if token is None else {"type": "auth", "token": token})
    await assert_closed_at_once(communicator, code)


def test_the_session_api_starts_a_conversation_with_the_bot() -> None:
    session = new_session()
    conversation = Conversation.objects.get(pk=session["conversation_id"])
    assert conversation.status == "bot" and not conversation.customer_verified
    assert session["customer"] == {"verified": False, "id": None}
    assert signing.loads(session["token"], salt=SESSION_SALT) == {"conversation": session["conversation_id"]}
    assert Client().get("/api/widget/sessions").status_code == 405


async def test_a_socket_is_silent_until_its_auth_frame_names_the_conversation() -> None:
    session = await database_sync_to_async(new_session)()
    communicator = await connect()
    assert await communicator.receive_nothing(timeout=0.3)  # accepted, but nothing is sent to nobody
    await communicator.send_json_to({"type": "auth", "token": session["token"]})
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "conversation.snapshot"
    assert snapshot["conversation"]["id"] == session["conversation_id"]
    await communicator.send_json_to({"type": "auth", "token": session["token"]})  # once is all it takes
    assert (await communicator.receive_json_from())["code"] == "unknown_type"
    await communicator.disconnect()


async def test_a_token_in_the_url_is_not_read() -> None:
    session = await database_sync_to_async(new_session)()
    communicator = await connect(f"/ws/customer/?token={session['token']}")
    await communicator.send_json_to({"type": "ping"})
    await assert_closed_at_once(communicator, CLOSE_BAD_TOKEN)


@pytest.mark.parametrize(
    "first",
    [
        '{"type": "ping"}',
        '{"type": "message.send", "client_id": "c1", "text": "hi"}',
        '{"type": "auth", "token": 42}',
        "not json",
        '["auth"]',
    ],
)
async def test_any_first_frame_but_auth_closes_the_socket_with_4401(first: str) -> None:
    communicator = await connect()
    await communicator.send_to(text_data=first)
    await assert_closed_at_once(communicator, CLOSE_BAD_TOKEN)
    assert await database_sync_to_async(Message.objects.count)() == 0


async def test_a_binary_first_frame_closes_the_socket_with_4401() -> None:
    communicator = await connect()
    await communicator.send_to(bytes_data=b'{"type": "auth"}')
    await assert_closed_at_once(communicator, CLOSE_BAD_TOKEN)


async def test_a_socket_that_never_authenticates_is_closed_with_4408(settings: Any) -> None:
    settings.WIDGET_AUTH_TIMEOUT_SECONDS = 0.2
    communicator = await connect()
    await assert_closed_at_once(communicator, CLOSE_AUTH_TIMEOUT)


async def test_an_authenticated_socket_outlives_the_auth_timeout(settings: Any) -> None:
    settings.WIDGET_AUTH_TIMEOUT_SECONDS = 0.2
    session = await database_sync_to_async(new_session)()
    communicator, _ = await open_session(session)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_connect_sends_the_snapshot_of_the_conversation() -> None:
    session = await database_sync_to_async(new_session)()
    await database_sync_to_async(store_message)(session["conversation_id"], sender="bot", text="Hello!")
    communicator, snapshot = await open_session(session)
    assert snapshot["conversation"] == {"id": session["conversation_id"], "status": "bot", "agent": None}
    assert [(m["sender"], m["text"]) for m in snapshot["messages"]] == [("bot", "Hello!")]
    await communicator.disconnect()


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-token",
        signing.dumps({"conversation": str(uuid.uuid4())}, salt="another.salt"),
        signing.dumps(
            {"conversation": str(uuid.uuid4())}, salt=SESSION_SALT, key="not-our-secret-key-0123456789abcdef"
        ),
        signing.dumps({"conversation": "not-a-uuid"}, salt=SESSION_SALT),
    ],
)
async def test_a_missing_or_forged_token_is_refused_with_4401(token: str | None) -> None:
    await assert_refused(token, CLOSE_BAD_TOKEN)


async def test_an_expired_token_is_refused(settings: Any) -> None:
    session = await database_sync_to_async(new_session)()
    settings.WIDGET_TOKEN_MAX_AGE_SECONDS = -1
    await assert_refused(session["token"], CLOSE_BAD_TOKEN)


async def test_a_token_for_no_conversation_is_refused_with_4404() -> None:
    await assert_refused(session_token(uuid.uuid4()), CLOSE_UNKNOWN_CONVERSATION)


async def test_a_token_cannot_be_edited_to_name_another_conversation() -> None:
    mine = await database_sync_to_async(new_session)()
    theirs = await database_sync_to_async(new_session)()
    forged = mine["token"].replace(
        signing.b64_encode(
            json.dumps({"conversation": mine["conversation_id"]}, separators=(",", ":")).encode()
        ).decode(),
        signing.b64_encode(
            json.dumps({"conversation": theirs["conversation_id"]}, separators=(",", ":")).encode()
        ).decode(),
    )
    assert forged != mine["token"]
    await assert_refused(forged, CLOSE_BAD_TOKEN)


async def test_a_customer_sees_only_their_own_conversation(fake_rasa: Any) -> None:
    mine, theirs = await database_sync_to_async(new_session)(), await database_sync_to_async(new_session)()
    me, _ = await open_session(mine)
    them, _ = await open_session(theirs)
    await them.send_json_to({"type": "message.send", "client_id": "t1", "text": "my secret"})
    await receive_until(them, is_message("bot"))
    assert await me.receive_nothing(timeout=0.3)
    me_again, snapshot = await open_session(mine)
    assert snapshot["messages"] == []
    for communicator in (me, them, me_again):
        await communicator.disconnect()


async def test_a_message_is_acked_and_the_bot_answers(fake_rasa: Any) -> None:
    session = await database_sync_to_async(new_session)()
    customer, _ = await open_session(session)
    await customer.send_json_to({"type": "message.send", "client_id": "c1", "text": "hi"})
    frames = await receive_all(
        customer, is_message("bot", "echo: hi"), is_type("message.ack", client_id="c1")
    )
    ack = next(f for f in frames if f["type"] == "message.ack")
    assert ack["message"]["text"] == "hi" and ack["message"]["sender"] == "customer"
    assert not any(is_message("customer")(f) for f in frames)  # the writer gets its ack, not an echo
    assert await customer.receive_nothing(timeout=0.3)
    await customer.disconnect()


async def test_another_tab_of_the_same_conversation_sees_the_customers_message(fake_rasa: Any) -> None:
    session = await database_sync_to_async(new_session)()
    tab1, _ = await open_session(session)
    tab2, _ = await open_session(session)
    await tab1.send_json_to({"type": "message.send", "client_id": "c1", "text": "hi"})
    await receive_until(tab2, is_message("customer", "hi"))
    await receive_until(tab2, is_message("bot", "echo: hi"))
    await tab1.disconnect()
    await tab2.disconnect()


async def test_the_customer_hears_an_agent_join(alex: Any) -> None:
    session = await database_sync_to_async(new_session)()
    conversation = await database_sync_to_async(Conversation.objects.get)(pk=session["conversation_id"])
    await database_sync_to_async(queue_conversation)(conversation)
    customer, snapshot = await open_session(session)
    assert snapshot["conversation"]["status"] == "queued"
    await database_sync_to_async(transitions.conversation_claim)(conversation_id=conversation.pk, agent=alex)
    frames = await receive_until(customer, is_message("system", "Alex joined the conversation"))
    status = next(f for f in frames if f["type"] == "conversation.status")
    assert (status["status"], status["agent"]) == ("assigned", {"display_name": "Alex"})
    await customer.disconnect()


BAD_FRAMES = [
    ("{not json", "malformed_frame"),
    ("[1, 2]", "malformed_frame"),
    ('{"text": "no type"}', "malformed_frame"),
    ('{"type": 7}', "malformed_frame"),
    ('{"type": "mesage.send"}', "unknown_type"),
    ('{"type": "handoff.claim", "conversation_id": "x"}', "unknown_type"),  # an agent frame
    ('{"type": "message.send", "text": "no client id"}', "invalid_field"),
    ('{"type": "message.send", "client_id": "c", "text": 5}', "invalid_field"),
    ('{"type": "message.send", "client_id": "c", "text": "   "}', "invalid_field"),
    ('{"type": "message.send", "client_id": "c", "text": "ok", "payload": ["x"]}', "invalid_field"),
    # Commands: typed (also as a JSON escape), or as a payload of a button the bot never offered.
    ('{"type": "message.send", "client_id": "c", "text": "/report_fraud"}', "invalid_field"),
    ('{"type": "message.send", "client_id": "c", "text": "\\u002frestart"}', "invalid_field"),
    ('{"type": "message.send", "client_id": "c", "text": "Yes", "payload": "/report_fraud"}', "invalid_field"),
    (json.dumps({"type": "message.send", "client_id": "c" * 65, "text": "hi"}), "invalid_field"),
    (json.dumps({"type": "message.send", "client_id": "c", "text": "x" * 2001}), "text_too_long"),
    (json.dumps({"type": "message.send", "client_id": "c", "text": "x" * 16400}), "frame_too_large"),
]


@pytest.mark.parametrize("raw,code", BAD_FRAMES)
async def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays_open(raw: str, code: str) -> None:
    session = await database_sync_to_async(new_session)()
    customer, _ = await open_session(session)
    await customer.send_to(text_data=raw)
    error = await customer.receive_json_from()
    assert (error["type"], error["code"]) == ("error", code)
    await customer.send_json_to({"type": "ping"})
    assert await customer.receive_json_from() == {"type": "pong"}
    assert await database_sync_to_async(Message.objects.count)() == 0
    await customer.disconnect()


async def test_a_binary_frame_is_malformed() -> None:
    session = await database_sync_to_async(new_session)()
    customer, _ = await open_session(session)
    await customer.send_to(bytes_data=b'{"type": "ping"}')
    assert (await customer.receive_json_from())["code"] == "malformed_frame"
    await customer.disconnect()


async def test_a_text_error_names_the_client_id() -> None:
    session = await database_sync_to_async(new_session)()
    customer, _ = await open_session(session)
    await customer.send_json_to({"type": "message.send", "client_id": "c9", "text": "x" * 2001})
    assert (await customer.receive_json_from())["client_id"] == "c9"
    await customer.disconnect()


async def test_a_resolved_conversation_answers_conversation_closed(alex: Any) -> None:
    session = await database_sync_to_async(new_session)()

    def resolve() -> None:
        conversation = Conversation.objects.get(pk=session["conversation_id"])
        queue_conversation(conversation)
        transitions.conversation_claim(conversation_id=conversation.pk, agent=alex)
        transitions.conversation_resolve(conversation_id=conversation.pk, agent=alex)

    await database_sync_to_async(resolve)()
    customer, snapshot = await open_session(session)
    assert snapshot["conversation"]["status"] == "resolved"
    await customer.send_json_to({"type": "message.send", "client_id": "late", "text": "hello?"})
    error = await customer.receive_json_from()
    assert (error["code"], error["client_id"]) == ("conversation_closed", "late")
    await customer.disconnect()
