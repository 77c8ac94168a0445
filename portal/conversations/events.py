"""Real-time events: sent to channel-layer groups only after the transaction that caused them commits.

Groups are named after who they fan out to: `agents` (every agent socket: the inbox),
`conversation.<uuid>` (the customer's socket and the agents who opened that conversation) and `user.<id>` (every
agent socket of one user: told when the user's access changes).

The channel layer (Redis in every deployment, so a Celery worker's events reach the sockets of every portal
process) is best-effort; the database is the truth and every socket re-syncs from a snapshot on connect.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from conversations.frames import conversation_view, handoff_view, message_view

AGENTS_GROUP = "agents"


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    return f"conversation.{conversation_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send `event` (a dict with a channels `type`) to `group` once the current transaction commits."""
    transaction.on_commit(partial(_send, group, event))


# Outside the ASGI server (a Celery worker's threads) there is no event loop to send on, and async_to_sync would
# start one per event, the channel layer opening a Redis connection for each. Such a process keeps one loop
# running in a thread instead (`start_publishing_loop`), and its layer keeps its connections.
_publishing_loop: asyncio.AbstractEventLoop | None = None
PUBLISH_TIMEOUT_SECONDS = 10.0


def start_publishing_loop() -> None:
    """Send this process's events through one event loop of its own, in a thread (once per process)."""
    global _publishing_loop
    if _publishing_loop is None:
        _publishing_loop = asyncio.new_event_loop()
        threading.Thread(target=_publishing_loop.run_forever, name="event-publisher", daemon=True).start()


HeldEvents = list[tuple[str, dict[str, Any]]]
# A socket's database call (conversations/socket_database.py) holds its committed events for the socket to send
# from the event loop: sent from the database thread, each would hold that thread, which every socket of the process
# shares, for a round trip through the loop to Redis.
_held: ContextVar[HeldEvents | None] = ContextVar("held_events", default=None)


@contextmanager
def held() -> Iterator[HeldEvents]:
    """Within it, events that commit are put in the list it gives, in order, instead of sent (`send_held`)."""
    events: HeldEvents = []
    token = _held.set(events)
    try:
        yield events
    finally:
        _held.reset(token)


async def send_held(events: HeldEvents) -> None:
    """Send what a `held()` block committed, in order."""
    if events:
        layer = _layer()
        for group, event in events:
            await layer.group_send(group, event)


def _layer() -> Any:
    layer = get_channel_layer()
    if layer is None:  # config/settings.py always names one
        raise ImproperlyConfigured("CHANNEL_LAYERS has no default layer")
    return layer


def _send(group: str, event: dict[str, Any]) -> None:
    held_events = _held.get()
    if held_events is not None:
        held_events.append((group, event))
        return
    layer = _layer()
    if _publishing_loop is None:
        async_to_sync(layer.group_send)(group, event)
    else:  # waited for, so one thread's events still go out in order
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, event), _publishing_loop)
        future.result(PUBLISH_TIMEOUT_SECONDS)


# --- the events ---------------------------------------------------------------------------------------------
# Each carries its payload already in the shape of the frames (conversations/frames.py), built inside the
# transaction so it shows the state that commits. Consumers have one handler per event type.


def message_created(message: Any, origin_channel: str | None = None) -> None:
    """A message was stored. `origin_channel`: the socket that wrote it, which gets `message.ack` instead."""
    publish_on_commit(
        conversation_group(message.conversation_id),
        {
            "type": "message.created",
            "message": message_view(message).model_dump(),
            "origin_channel": origin_channel,
        },
    )


def conversation_status_changed(conversation: Any) -> None:
    view = conversation_view(conversation).model_dump()
    publish_on_commit(
        conversation_group(conversation.pk),
        {
            "type": "conversation.status_changed",
            "conversation_id": view["id"],
            "status": view["status"],
            "agent": view["agent"],
            "agent_id": conversation.assigned_agent_id,  # for the sockets' read checks; not sent to clients
        },
    )


def conversation_erased(conversation_id: uuid.UUID) -> None:
    """The conversation was erased (conversations/privacy.py): its customer's socket closes, agents let it go."""
    publish_on_commit(
        conversation_group(conversation_id), {"type": "conversation.erased", "conversation_id": str(conversation_id)}
    )


def handoff_changed(handoff: Any) -> None:
    """Queued, claimed, raised in priority, resolved or handed back: every agent's inbox hears of it."""
    publish_on_commit(AGENTS_GROUP, {"type": "handoff.changed", "handoff": handoff_view(handoff).model_dump()})


def access_changed(user_id: int) -> None:
    """The user's active flag, groups or permissions changed: their sockets read their access again."""
    publish_on_commit(user_group(user_id), {"type": "access.changed"})


def session_ended(user_id: int) -> None:
    """The user logged out: their sockets close."""
    publish_on_commit(user_group(user_id), {"type": "access.revoked"})
