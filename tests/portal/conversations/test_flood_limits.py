"""Flood limits (conversations/limits.py): sessions per address, messages per conversation and per address,
handoffs per address; refused with 429 or a `rate_limited` frame and nothing stored, or, for a handoff, queued
behind everyone else's. Counted in the cache the settings name: in-memory here, the machine's Redis in CI."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from portal_support import new_client_id, open_customer_socket, queue_conversation, receive_until

from agents.roles import access_of
from config.asgi import application
from conversations import limits, services
from conversations.models import Conversation, Handoff, Message
from handoff.selectors import inbox_for

pytestmark = pytest.mark.django_db(transaction=True)


def start_session(address: str = "203.0.113.7") -> Any:
    return Client(REMOTE_ADDR=address).post("/api/widget/sessions")


def test_sessions_past_the_limit_get_429_with_retry_after_and_start_nothing(settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sessions_per_address": "2/m"}
    assert [start_session().status_code for _ in range(2)] == [201, 201]
    refused = start_session()
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limited" and 1 <= body["retry_after"] <= 60
    assert refused["Retry-After"] == str(body["retry_after"])
    assert Conversation.objects.count() == 2
    assert start_session("198.51.100.20").status_code == 201  # another address has its own count


def test_a_session_keeps_a_keyed_hash_of_its_address_not_the_address() -> None:
    conversation = Conversation.objects.get(pk=start_session("203.0.113.7").json()["conversation_id"])
    assert conversation.client_key == limits.client_key("203.0.113.7")
    assert "203.0.113.7" not in conversation.client_key and len(conversation.client_key) == 32


async def send(communicator: WebsocketCommunicator, text: str) -> dict:
    client_id = new_client_id()
    await communicator.send_json_to({"type": "message.send", "client_id": client_id, "text": text})
    frames = await receive_until(communicator, lambda f: f["type"] in {"message.ack", "error"})
    assert frames[-1]["client_id"] == client_id
    return frames[-1]


@pytest.mark.parametrize("limit", ["messages_per_conversation", "messages_per_address"])
async def test_messages_past_the_limit_get_a_rate_limited_frame_and_are_not_stored(
    settings: Any, no_delivery_task: list[Any], limit: str
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, limit: "2/m"}
    session = (await database_sync_to_async(start_session)()).json()
    communicator = await open_customer_socket(session["token"])
    await communicator.receive_json_from()  # the snapshot
    assert [(await send(communicator, text))["type"] for text in ("one", "two")] == ["message.ack"] * 2
    refused = await send(communicator, "three")
    assert refused["type"] == "error" and refused["code"] == "rate_limited"
    assert 1 <= refused["retry_after"] <= 60
    texts = await database_sync_to_async(lambda: list(Message.objects.values_list("text", flat=True)))()
    assert texts == ["one", "two"]
    await communicator.disconnect()


def conversation_from(address: str) -> Conversation:
    return services.conversation_start(client_key=limits.client_key(address))


def test_handoffs_past_an_addresss_limit_are_queued_behind_everyone_elses(settings: Any, alex: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "handoffs_per_address": "2/h"}
    flood = [conversation_from("203.0.113.7") for _ in range(4)]
    for conversation in flood:
        queue_conversation(conversation, reason="sensitive_topic", priority="urgent")
    real = conversation_from("198.51.100.20")
    queue_conversation(real, priority="normal")

    over = dict(Handoff.objects.values_list("conversation_id", "over_limit"))
    assert [over[c.pk] for c in flood] == [False, False, True, True]
    assert over[real.pk] is False
    inbox = [h.conversation_id for h in inbox_for(access_of(alex))]
    # Within their limit, urgent before normal; past it, after every other handoff (still urgent among them).
    assert inbox == [flood[0].pk, flood[1].pk, real.pk, flood[2].pk, flood[3].pk]
    assert Handoff.objects.get(conversation=flood[3]).priority == "urgent"


def test_the_limits_let_everything_through_when_the_cache_is_unreachable(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sessions_per_address": "1/m"}
    with caplog.at_level(logging.WARNING, logger="conversations.limits"):
        assert [start_session().status_code for _ in range(3)] == [201, 201, 201]
    assert "the cache is unreachable" in caplog.text
