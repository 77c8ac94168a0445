"""The agent's WebSocket: the live inbox, and the conversations the agent has open. Thin: frames become calls to
transitions and services; events become frames."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async

from agents.models import is_agent
from conversations import events, frames, selectors, services, transitions
from conversations.consumers import FrameSocket
from conversations.models import Conversation
from handoff import selectors as handoff_selectors
from handoff import services as handoff_services

logger = logging.getLogger(__name__)

CLOSE_NOT_AN_AGENT = 4403


class AgentConsumer(FrameSocket):
    async def connect(self) -> None:
        self.agent = self.scope.get("user")
        self.open_conversations: set[uuid.UUID] = set()
        if self.agent is None or not await database_sync_to_async(is_agent)(self.agent):
            self.agent = None
            await self.refuse(CLOSE_NOT_AN_AGENT)
            return
        await self.channel_layer.group_add(events.AGENTS_GROUP, self.channel_name)
        await self.accept()
        await self.send_frame(await self._inbox())
        logger.info("agent socket open: %s", self.agent.get_username())

    async def disconnect(self, code: int) -> None:
        if self.agent is None:
            return
        await self.channel_layer.group_discard(events.AGENTS_GROUP, self.channel_name)
        for conversation_id in self.open_conversations:
            await self.channel_layer.group_discard(
                events.conversation_group(conversation_id), self.channel_name
            )

    async def handle_frame(self, data: dict[str, Any]) -> None:
        frame = frames.parse_agent_frame(data)
        if isinstance(frame, frames.Ping):
            await self.send_frame(frames.pong_frame())
            return
        try:
            if isinstance(frame, frames.AgentMessageSend):
                await self._post_message(frame)
            elif isinstance(frame, frames.AgentMessagesSync):
                await self._resync(frame)
            elif frame.type == "conversation.open":
                await self._open(frame.conversation_id)
            elif frame.type == "handoff.claim":
                await database_sync_to_async(transitions.conversation_claim)(
                    conversation_id=frame.conversation_id, agent=self.agent
                )
                await self._open(frame.conversation_id)  # the claimer works on it next: show it
            elif frame.type == "conversation.resolve":
                await database_sync_to_async(transitions.conversation_resolve)(
                    conversation_id=frame.conversation_id, agent=self.agent
                )
            elif frame.type == "conversation.hand_back":
                await database_sync_to_async(handoff_services.handoff_return_to_bot)(
                    conversation_id=frame.conversation_id, agent=self.agent
                )
        except Conversation.DoesNotExist:
            raise frames.FrameError(
                "unknown_conversation", "no such conversation", _client_id(frame)
            ) from None
        except (transitions.TransitionError, services.NotAllowed) as exc:
            raise frames.FrameError("not_allowed", str(exc), _client_id(frame)) from None

    async def _open(self, conversation_id: uuid.UUID) -> None:
        # Join before reading the snapshot: an event in between is sent twice, never missed.
        await self.channel_layer.group_add(events.conversation_group(conversation_id), self.channel_name)
        snapshot = await self._conversation_snapshot(conversation_id)
        if snapshot is None:
            await self.channel_layer.group_discard(
                events.conversation_group(conversation_id), self.channel_name
            )
            raise Conversation.DoesNotExist
        self.open_conversations.add(conversation_id)
        await self.send_frame(snapshot)

    async def _resync(self, frame: frames.AgentMessagesSync) -> None:
        # Only a conversation this socket has open: opening it made the checks, and only its live messages can
        # have gaps.
        if frame.conversation_id not in self.open_conversations:
            raise frames.FrameError("not_allowed", "open the conversation (conversation.open) before syncing it")
        await self.send_missed(frame.conversation_id, frame.after_seq)

    async def _post_message(self, frame: frames.AgentMessageSend) -> None:
        message = await database_sync_to_async(self._store_message)(frame)
        await self.send_frame(frames.message_ack_frame(frame.client_id, message))

    def _store_message(self, frame: frames.AgentMessageSend) -> frames.MessageView:
        message = services.message_post_agent(
            conversation_id=frame.conversation_id,
            agent=self.agent,
            client_id=frame.client_id,
            text=frame.text,
            origin_channel=self.channel_name,
        )
        return frames.message_view(message)

    @database_sync_to_async
    def _inbox(self) -> frames.InboxSnapshotFrame:
        return frames.inbox_snapshot_frame(
            [frames.handoff_view(h) for h in handoff_selectors.inbox_for_agent(self.agent)]
        )

    @database_sync_to_async
    def _conversation_snapshot(self, conversation_id: uuid.UUID) -> frames.AgentSnapshotFrame | None:
        conversation = selectors.conversation_get(conversation_id)
        if conversation is None:
            return None
        handoff = handoff_selectors.latest_handoff(conversation_id)
        return frames.agent_snapshot_frame(
            conversation,
            handoff.context if handoff else None,
            selectors.conversation_messages(conversation_id),
        )

    # --- events from the channel layer ----------------------------------------------------------------------

    async def handoff_changed(self, event: dict[str, Any]) -> None:
        await self.send_frame(frames.handoff_updated_frame(event["handoff"]))


def _client_id(frame: Any) -> str | None:
    return getattr(frame, "client_id", None)
