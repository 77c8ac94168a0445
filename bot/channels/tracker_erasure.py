"""Erase one conversation's tracker: `DELETE /webhooks/erasure/conversations/<id>?token=<RASA_TOKEN>`.

Rasa 3.6's HTTP API cannot wipe a tracker: `PUT /conversations/<id>/tracker/events` with no events empties an
in-memory store, but the Redis tracker store merges the stored events back in (RedisTrackerStore._merge_trackers)
and the SQL store only ever appends. This route, mounted as an input channel (the one way to add a route to
`rasa run`), deletes the stored tracker itself, under the conversation's lock. It answers 204 whether or not a
tracker was there, so the portal may ask again; 403 without the token of Rasa's HTTP API (RASA_TOKEN in Rasa's
environment: no token, no erasure); 501 for a tracker store it cannot erase.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    RedisTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)


class UnsupportedTrackerStore(Exception):
    """The configured tracker store is none this module knows how to erase from."""


def erase_tracker(store: TrackerStore, conversation_id: str) -> None:
    """Delete every stored event of the conversation, all its sessions; nothing if it has none."""
    if isinstance(store, (AwaitableTrackerStore, FailSafeTrackerStore)):  # Rasa's wrappers of the store
        fallback = getattr(store, "_fallback_tracker_store", None)  # where turns went while the store was down
        if fallback is not None:
            erase_tracker(fallback, conversation_id)
        erase_tracker(store._tracker_store, conversation_id)
    elif isinstance(store, InMemoryTrackerStore):
        store.store.pop(conversation_id, None)
    elif isinstance(store, RedisTrackerStore):
        store.red.delete(store.key_prefix + conversation_id)
    elif isinstance(store, SQLTrackerStore):
        with store.session_scope() as session:
            session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == conversation_id).delete()
            session.commit()
    else:
        raise UnsupportedTrackerStore(type(store).__name__)


def token_accepted(provided: str | None) -> bool:
    expected = os.environ.get("RASA_TOKEN", "")
    return bool(expected) and hmac.compare_digest((provided or "").encode(), expected.encode())


class TrackerErasureInput(InputChannel):
    """Not a channel customers talk through: a route of the portal's, beside the REST channel."""

    @classmethod
    def name(cls) -> str:
        return "erasure"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        erasure = Blueprint("tracker_erasure", __name__)

        @erasure.route("/conversations/<conversation_id:str>", methods=["DELETE"])
        async def erase(request: Request, conversation_id: str) -> HTTPResponse:
            if not token_accepted(request.args.get("token")):
                return response.json({"error": "not_allowed"}, status=403)
            agent = request.app.ctx.agent
            try:
                async with agent.lock_store.lock(conversation_id):
                    erase_tracker(agent.tracker_store, conversation_id)
            except UnsupportedTrackerStore as exc:
                logger.error("cannot erase a tracker from a %s", exc)
                return response.json({"error": "unsupported_tracker_store"}, status=501)
            logger.info("tracker of conversation %s erased", conversation_id)
            return response.empty(status=204)

        return erasure
