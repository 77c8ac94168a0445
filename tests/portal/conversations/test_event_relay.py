"""The event relay: on the embedded in-memory channel layer, a Celery worker's events reach the portal's sockets
by a signed POST to the portal, which sends them on in its own process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.core import signing
from django.utils import timezone
from portal_support import queue_conversation, receive_until, socket_headers, start_conversation

from config.asgi import application
from conversations import events
from conversations.models import Handoff
from handoff.tasks import raise_waiting_priorities

pytestmark = pytest.mark.django_db(transaction=True)


async def post_to_relay(body: bytes) -> dict[str, Any]:
    communicator = HttpCommunicator(
        application,
        "POST",
        events.RELAY_PATH,
        body=body,
        headers=[(b"host", b"localhost"), (b"content-type", b"text/plain")],
    )
    return await communicator.get_response(timeout=5)


def forward_to_portal(request: httpx.Request) -> httpx.Response:
    """The worker's HTTP request, served by the portal's ASGI application (what daphne would do)."""
    assert str(request.url) == f"{events.settings.SWITCHBOARD_PORTAL_URL}{events.RELAY_PATH}"
    response = async_to_sync(post_to_relay)(request.content)
    return httpx.Response(response["status"], content=response["body"])


@pytest.fixture
def as_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process publishes as a worker on the in-memory layer does: through the relay, over HTTP."""
    monkeypatch.setattr(events, "_publish_through_relay", True)
    monkeypatch.setattr(
        events,
        "relay_client",
        lambda: httpx.Client(
            transport=httpx.MockTransport(forward_to_portal), base_url=events.settings.SWITCHBOARD_PORTAL_URL
        ),
    )


def test_a_worker_uses_the_relay_only_when_its_layer_is_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from channels.layers import InMemoryChannelLayer, get_channel_layer

    monkeypatch.setattr(events, "_publish_through_relay", False)
    events.use_relay_if_layer_is_in_memory()
    assert events._publish_through_relay == isinstance(get_channel_layer(), InMemoryChannelLayer)


async def test_a_priority_raised_by_a_worker_reaches_an_agent_socket(
    as_a_worker: Any, alex: Any, settings: Any
) -> None:
    settings.HANDOFF_PRIORITY_RAISE_AFTER_SECONDS = 60

    def a_handoff_waiting_too_long() -> Handoff:
        handoff = queue_conversation(start_conversation(), priority="high")
        Handoff.objects.filter(pk=handoff.pk).update(
            priority_changed_at=timezone.now() - timedelta(minutes=5)
        )
        return handoff

    handoff = await database_sync_to_async(a_handoff_waiting_too_long)()
    agent = WebsocketCommunicator(
        application, "/ws/agent/", headers=await database_sync_to_async(socket_headers)(alex)
    )
    assert (await agent.connect())[0]
    assert (await agent.receive_json_from())["type"] == "inbox.snapshot"

    assert await database_sync_to_async(raise_waiting_priorities)() == 1
    update = (await receive_until(agent, lambda f: f["type"] == "handoff.updated"))[-1]["handoff"]
    assert (update["conversation_id"], update["priority"]) == (str(handoff.conversation_id), "urgent")
    await agent.disconnect()


async def test_the_relay_refuses_an_unsigned_forged_or_stale_envelope(settings: Any) -> None:
    event = {"type": "handoff.changed", "handoff": {}}
    assert (await post_to_relay(b'{"group": "agents", "event": {}}'))["status"] == 403
    forged = signing.dumps({"group": "agents", "event": event}, salt=events.RELAY_SALT, key="x" * 50)
    assert (await post_to_relay(forged.encode()))["status"] == 403
    settings.EVENT_RELAY_MAX_AGE_SECONDS = -1
    assert (await post_to_relay(events.sign_relay_envelope("agents", event).encode()))["status"] == 403


async def test_the_relay_sends_only_to_the_portals_groups() -> None:
    envelope = events.sign_relay_envelope("somebody.elses.group", {"type": "x"})
    assert (await post_to_relay(envelope.encode()))["status"] == 400
    assert (
        await post_to_relay(
            events.sign_relay_envelope("agents", {"type": "handoff.changed", "handoff": {}}).encode()
        )
    )["status"] == 204


def test_a_relay_that_cannot_be_reached_is_logged_not_raised(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(events, "_publish_through_relay", True)
    settings.SWITCHBOARD_PORTAL_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    events._send("agents", {"type": "handoff.changed", "handoff": {}})
    assert "event relay to http://127.0.0.1:9 failed" in caplog.text
