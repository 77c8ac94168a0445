"""Real-time events: sent to channel-layer groups only after the transaction that caused them commits.

Groups are named after who they fan out to: `agents` (every agent socket: the inbox) and
`conversation.<uuid>` (the customer's socket and the agents who opened that conversation).

The channel layer is best-effort; the database is the truth and every socket re-syncs from a snapshot on connect.
The in-memory layer reaches only its own process, so a Celery worker on the embedded defaults POSTs its events,
signed with SECRET_KEY, to the portal's relay endpoint (`relay_event` in views.py), which sends them there.
"""

from __future__ import annotations

import logging
import re
import uuid
from functools import partial
from typing import Any

import httpx
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core import signing
from django.db import transaction

from conversations.frames import agent_view, handoff_view, message_view

logger = logging.getLogger(__name__)

AGENTS_GROUP = "agents"
RELAY_PATH = "/internal/events"
RELAY_SALT = "switchboard.events.relay"
RELAYABLE_GROUP = re.compile(r"agents|conversation\.[0-9a-f-]{36}")

# Set in a Celery worker whose channel layer is in-memory (config.celery_app): publish through the relay.
_publish_through_relay = False


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    return f"conversation.{conversation_id}"


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send `event` (a dict with a channels `type`) to `group` once the current transaction commits."""
    transaction.on_commit(partial(_send, group, event))


def use_relay_if_layer_is_in_memory() -> None:
    global _publish_through_relay
    _publish_through_relay = isinstance(get_channel_layer(), InMemoryChannelLayer)


def _send(group: str, event: dict[str, Any]) -> None:
    if _publish_through_relay:
        _post_to_relay(group, event)
    else:
        async_to_sync(get_channel_layer().group_send)(group, event)


# --- the relay ----------------------------------------------------------------------------------------------


def sign_relay_envelope(group: str, event: dict[str, Any]) -> str:
    return signing.dumps({"group": group, "event": event}, salt=RELAY_SALT)


def open_relay_envelope(body: str) -> tuple[str, dict[str, Any]]:
    """The group and event of a relay body; signing.BadSignature (or ValueError) if it is not ours or too old."""
    envelope = signing.loads(body, salt=RELAY_SALT, max_age=settings.EVENT_RELAY_MAX_AGE_SECONDS)
    group, event = envelope.get("group"), envelope.get("event")
    if not isinstance(group, str) or not RELAYABLE_GROUP.fullmatch(group) or not isinstance(event, dict):
        raise ValueError("relay envelope names no known group or event")
    return group, event


def relay_client() -> httpx.Client:
    return httpx.Client(base_url=settings.SWITCHBOARD_PORTAL_URL, timeout=httpx.Timeout(5.0, connect=2.0))


def _post_to_relay(group: str, event: dict[str, Any]) -> None:
    body = sign_relay_envelope(group, event)
    try:
        with relay_client() as client:
            response = client.post(RELAY_PATH, content=body, headers={"content-type": "text/plain"})
            response.raise_for_status()
    except httpx.HTTPError as exc:
        # Best-effort like any channel layer: sockets re-sync from the database on reconnect.
        logger.warning(
            "event relay to %s failed for group %s: %s", settings.SWITCHBOARD_PORTAL_URL, group, exc
        )


# --- the events ---------------------------------------------------------------------------------------------
# Each carries its payload already in the shape of the frames (conversations/frames.py), built inside the
# transaction so it shows the state that commits. Consumers have one handler per event type.


def message_created(message: Any, origin_channel: str | None = None) -> None:
    """A message was stored. `origin_channel`: the socket that wrote it, which gets `message.ack` instead."""
    publish_on_commit(
        conversation_group(message.conversation_id),
        {"type": "message.created", "message": message_view(message), "origin_channel": origin_channel},
    )


def conversation_status_changed(conversation: Any) -> None:
    publish_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "conversation.status_changed",
            "conversation_id": str(conversation.pk),
            "status": conversation.status,
            "agent": agent_view(conversation.assigned_agent) if conversation.assigned_agent_id else None,
        },
    )


def handoff_changed(handoff: Any) -> None:
    """Queued, claimed, raised in priority, resolved or handed back: every agent's inbox hears of it."""
    publish_on_commit(AGENTS_GROUP, {"type": "handoff.changed", "handoff": handoff_view(handoff)})
