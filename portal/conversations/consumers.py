"""The customer's WebSocket: thin — it checks the token of its first frame, turns frames into service calls, and
events into frames."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from conversations import events, frames, limits, selectors, services
from conversations.models import Conversation
from conversations.sessions import conversation_id_from_token
from conversations.socket_database import database_call

logger = logging.getLogger(__name__)

CLOSE_BAD_TOKEN = 4401
CLOSE_UNKNOWN_CONVERSATION = 4404
CLOSE_AUTH_TIMEOUT = 4408


class FrameSocket(AsyncWebsocketConsumer):
    """A socket speaking JSON frames: decoding, refusal with `error` frames, sending checked shapes."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first runs close_old_connections on the process's one database thread, for every
        # frame and every event: a socket's events then wait behind every other socket's writes (a burst of 100
        # messages delivered one write apart). Every database call of these sockets is a database_call, whose
        # thread closes old connections before and after it, so nothing is left for dispatch to do.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def send_frame(self, frame: frames.Shape) -> None:
        await self.send(text_data=frames.frame_json(frame))

    async def refuse(self, close_code: int) -> None:
        # Accept first so the client sees the close code (a close before accept is an HTTP 403 to a browser).
        await self.accept()
        await self.close(code=close_code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            await self.handle_frame(frames.decode_frame(text_data, bytes_data))
        except frames.FrameError as exc:
            await self.send_frame(frames.error_frame(exc.code, exc.detail, exc.client_id, exc.retry_after))

    async def handle_frame(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_missed(self, conversation_id: uuid.UUID, after_seq: int) -> None:
        """Answer `messages.sync`: what the client missed, read from the database (the channel layer may drop)."""
        await self.send_frame(await _messages_synced(conversation_id, after_seq))

    # --- events from the channel layer (one handler per type) -----------------------------------------------

    async def message_created(self, event: dict[str, Any]) -> None:
        if event["origin_channel"] != self.channel_name:  # the writer gets its message.ack instead
            await self.send_frame(frames.message_new_frame(event["message"]))

    async def conversation_status_changed(self, event: dict[str, Any]) -> None:
        await self.send_frame(
            frames.conversation_status_frame(event["conversation_id"], event["status"], event["agent"])
        )


def client_address(scope: Mapping[str, Any]) -> str:
    """The client's address as the ASGI server saw it (behind a trusted proxy, from its forwarded header)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class CustomerConsumer(FrameSocket):
    """Authenticated by its first frame, `auth` with the session token: never by the URL, which access logs,
    proxies and browser histories keep (docs/protocol.md says why not the subprotocol header either)."""

    conversation_id: uuid.UUID | None = None  # set once the socket's `auth` frame named its conversation
    refused = False  # closing: frames that still arrive are dropped
    auth_timer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()
        self.auth_timer = asyncio.create_task(self._close_unless_authenticated())

    async def _close_unless_authenticated(self) -> None:
        # A socket that never says who it is holds a connection for nothing: it gets a few seconds.
        await asyncio.sleep(settings.WIDGET_AUTH_TIMEOUT_SECONDS)
        if self.conversation_id is None and not self.refused:
            await self._refuse(CLOSE_AUTH_TIMEOUT)

    async def _refuse(self, close_code: int) -> None:
        self.refused = True
        await self.close(code=close_code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.refused:
            return
        if self.conversation_id is None:
            await self._authenticate(text_data, bytes_data)
        else:
            await super().receive(text_data, bytes_data)

    async def _authenticate(self, text_data: str | None, bytes_data: bytes | None) -> None:
        """The first frame must be `auth` with a good token: anything else closes the socket before any frame
        is sent (4401 bad token or not an `auth` frame, 4404 unknown conversation)."""
        try:
            token = frames.parse_customer_auth(frames.decode_frame(text_data, bytes_data)).token
        except frames.FrameError:
            token = ""
        conversation_id = conversation_id_from_token(token)
        if conversation_id is None:
            await self._refuse(CLOSE_BAD_TOKEN)
            return
        if not await database_call(selectors.conversation_exists)(conversation_id):
            await self._refuse(CLOSE_UNKNOWN_CONVERSATION)
            return
        self.conversation_id = conversation_id
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        # Join before the snapshot is read for the client: an event in between is sent twice, never missed.
        await self.channel_layer.group_add(events.conversation_group(conversation_id), self.channel_name)
        await self.send_frame(await self._snapshot(conversation_id))
        logger.info("customer socket open: conversation %s", conversation_id)

    async def disconnect(self, code: int) -> None:
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(
                events.conversation_group(self.conversation_id), self.channel_name
            )

    async def handle_frame(self, data: dict[str, Any]) -> None:
        assert self.conversation_id is not None  # receive() authenticates first
        frame = frames.parse_customer_frame(data)
        if isinstance(frame, frames.Ping):
            await self.send_frame(frames.pong_frame())
        elif isinstance(frame, frames.CustomerMessageSend):
            await self._post_message(self.conversation_id, frame)
        elif isinstance(frame, frames.CustomerMessagesSync):
            await self.send_missed(self.conversation_id, frame.after_seq)

    async def _post_message(self, conversation_id: uuid.UUID, frame: frames.CustomerMessageSend) -> None:
        try:
            message = await database_call(self._store_message)(conversation_id, frame)
        except Conversation.DoesNotExist:  # erased (or deleted in the admin) since connect
            await self.close(code=CLOSE_UNKNOWN_CONVERSATION)
            return
        except services.ConversationClosed:
            raise frames.FrameError(
                "conversation_closed", "this conversation is resolved; start a new session", frame.client_id
            ) from None
        except services.ButtonNotOffered:
            raise frames.FrameError(
                "invalid_field",
                "payload: not a button of the bot's latest offer in this conversation, or already answered",
                frame.client_id,
            ) from None
        except limits.RateLimited as exc:
            raise frames.FrameError("rate_limited", str(exc), frame.client_id, exc.retry_after) from None
        await self.send_frame(frames.message_ack_frame(frame.client_id, message))

    def _store_message(
        self, conversation_id: uuid.UUID, frame: frames.CustomerMessageSend
    ) -> frames.MessageView:
        limits.check("messages_per_conversation", str(conversation_id))
        limits.check("messages_per_address", limits.client_key(client_address(self.scope)))
        message = services.message_post_customer(
            conversation_id=conversation_id,
            client_id=frame.client_id,
            text=frame.text,
            payload=frame.payload,
            origin_channel=self.channel_name,
        )
        return frames.message_view(message)

    async def conversation_erased(self, event: dict[str, Any]) -> None:
        # Nothing of the conversation is left to show or write to: as for a token naming no conversation.
        await self.close(code=CLOSE_UNKNOWN_CONVERSATION)

    @database_call
    def _snapshot(self, conversation_id: uuid.UUID) -> frames.CustomerSnapshotFrame:
        conversation = selectors.conversation_get(conversation_id)
        if conversation is None:  # deleted (in the admin) since connect found it: the socket fails and drops
            raise LookupError(f"conversation {conversation_id} no longer exists")
        return frames.customer_snapshot_frame(conversation, selectors.conversation_messages(conversation_id))


@database_call
def _messages_synced(conversation_id: uuid.UUID, after_seq: int) -> frames.MessagesSyncedFrame:
    return frames.messages_synced_frame(
        str(conversation_id), after_seq, selectors.conversation_messages(conversation_id, after_seq)
    )
