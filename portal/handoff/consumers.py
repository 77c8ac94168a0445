"""The agent's WebSocket: the live inbox, and the conversations the user has open. Thin: frames become calls to
transitions and services; events become frames. What the user may do is agents/roles.py's to say, read again on
every frame and whenever the user's access changes (their `user.<id>` group), so a lost role, a deactivation or a
logout closes the socket at once."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.contrib.auth.models import User

from agents import roles
from conversations import events, frames, services, transitions
from conversations.consumers import FrameSocket
from conversations.models import Conversation, ConversationStatus
from conversations.socket_database import database_call
from handoff import selectors as handoff_selectors
from handoff import services as handoff_services

logger = logging.getLogger(__name__)

CLOSE_NOT_AN_AGENT = 4403
CLOSE_ACCESS_CHANGED = 4409  # the user's role changed but still reaches the socket: reconnect for a fresh inbox


class AgentConsumer(FrameSocket):
    agent: Any = None  # the user, once connect has accepted the socket
    access: roles.Access = roles.NO_ACCESS

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.open_conversations: set[uuid.UUID] = set()
        access = await database_call(roles.access_of)(user)
        if not access.uses_agent_socket:
            await self.refuse(CLOSE_NOT_AN_AGENT)
            return
        self.agent, self.access = user, access
        await self.channel_layer.group_add(events.AGENTS_GROUP, self.channel_name)
        await self.channel_layer.group_add(events.user_group(access.user_id or 0), self.channel_name)
        await self.accept()
        await self.send_frame(await self._inbox())
        logger.info("agent socket open: %s", self.agent.get_username())

    async def disconnect(self, code: int) -> None:
        if self.agent is None:
            return
        await self.channel_layer.group_discard(events.AGENTS_GROUP, self.channel_name)
        await self.channel_layer.group_discard(events.user_group(self.access.user_id or 0), self.channel_name)
        for conversation_id in self.open_conversations:
            await self.channel_layer.group_discard(
                events.conversation_group(conversation_id), self.channel_name
            )

    async def handle_frame(self, data: dict[str, Any]) -> None:
        if self.agent is None:  # refused in connect, or closed since: a frame sent meanwhile is dropped
            return
        if not await self._still_allowed():
            return
        frame = frames.parse_agent_frame(data)
        if isinstance(frame, frames.Ping):
            await self.send_frame(frames.pong_frame())
            return
        try:
            await self._act(frame)
        except Conversation.DoesNotExist:
            raise frames.FrameError(
                "unknown_conversation", "no such conversation", _client_id(frame)
            ) from None
        except (
            transitions.TransitionError,
            services.NotAllowed,
            handoff_services.MayNotRead,
            User.DoesNotExist,
        ) as exc:
            raise frames.FrameError("not_allowed", str(exc), _client_id(frame)) from None

    async def _act(
        self,
        frame: frames.AgentMessageSend
        | frames.AgentMessagesSync
        | frames.ConversationAction
        | frames.ConversationResolve
        | frames.ConversationReassign,
    ) -> None:
        if isinstance(frame, frames.AgentMessagesSync):
            await self._resync(frame)
            return
        if frame.type == "conversation.open":
            await self._open(frame.conversation_id)
            return
        if isinstance(frame, frames.ConversationReassign):
            if not self.access.may_reassign():
                raise frames.FrameError("not_allowed", "your role does not let you reassign conversations")
            await database_call(self._reassign)(frame)
            if frame.agent_id == self.agent.pk:
                await self._open(frame.conversation_id)  # a take-over: the supervisor works on it next
            return
        # The rest work a conversation as its agent: claiming it, then writing, resolving, handing back.
        if not self.access.may_claim():
            raise frames.FrameError(
                "not_allowed", "your role does not let you work conversations", _client_id(frame)
            )
        if isinstance(frame, frames.AgentMessageSend):
            await self._post_message(frame)
        elif frame.type == "handoff.claim":
            await database_call(transitions.conversation_claim)(
                conversation_id=frame.conversation_id, agent=self.agent
            )
            await self._open(frame.conversation_id)  # the claimer works on it next: show it
        elif isinstance(frame, frames.ConversationResolve):
            given = frame.label
            label = transitions.HandoffLabel(given.intent, given.handoff_needed) if given is not None else None
            await database_call(transitions.conversation_resolve)(
                conversation_id=frame.conversation_id, agent=self.agent, label=label
            )
        elif frame.type == "conversation.hand_back":
            await database_call(handoff_services.handoff_return_to_bot)(
                conversation_id=frame.conversation_id, agent=self.agent
            )

    async def _still_allowed(self) -> bool:
        """Read the user's access again (one query): a socket whose user lost it closes."""
        self.access = await database_call(roles.access_of)(self.agent)
        if self.access.uses_agent_socket:
            return True
        await self._close_for_access()
        return False

    async def _close_for_access(self) -> None:
        logger.info("agent socket closed, access gone: %s", self.agent.get_username())
        await self.close(code=CLOSE_NOT_AN_AGENT)

    async def _open(self, conversation_id: uuid.UUID) -> None:
        # Join before reading the snapshot: an event in between is sent twice, never missed.
        await self.channel_layer.group_add(events.conversation_group(conversation_id), self.channel_name)
        try:
            snapshot = await self._conversation_snapshot(conversation_id)
        except (Conversation.DoesNotExist, handoff_services.MayNotRead):
            if conversation_id not in self.open_conversations:
                await self._leave(conversation_id)
            raise
        self.open_conversations.add(conversation_id)
        await self.send_frame(snapshot)

    async def _leave(self, conversation_id: uuid.UUID) -> None:
        self.open_conversations.discard(conversation_id)
        await self.channel_layer.group_discard(events.conversation_group(conversation_id), self.channel_name)

    async def _resync(self, frame: frames.AgentMessagesSync) -> None:
        # Only a conversation this socket has open: opening it made the checks, and only its live messages can
        # have gaps.
        if frame.conversation_id not in self.open_conversations:
            raise frames.FrameError("not_allowed", "open the conversation (conversation.open) before syncing it")
        await self.send_missed(frame.conversation_id, frame.after_seq)

    async def _post_message(self, frame: frames.AgentMessageSend) -> None:
        message = await database_call(self._store_message)(frame)
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

    def _reassign(self, frame: frames.ConversationReassign) -> None:
        transitions.conversation_reassign(
            conversation_id=frame.conversation_id,
            by=self.agent,
            to=User.objects.get(pk=frame.agent_id, is_active=True),
        )

    @database_call
    def _inbox(self) -> frames.InboxSnapshotFrame:
        return frames.inbox_snapshot_frame(
            [frames.handoff_view(h) for h in handoff_selectors.inbox_for(self.access)],
            [frames.staff_agent_view(u) for u in handoff_selectors.assignable_agents(self.access)],
        )

    @database_call
    def _conversation_snapshot(self, conversation_id: uuid.UUID) -> frames.AgentSnapshotFrame:
        conversation, handoff, messages = handoff_services.conversation_open(
            conversation_id=conversation_id, user=self.agent, access=self.access
        )
        return frames.agent_snapshot_frame(conversation, handoff.context if handoff else None, messages)

    def _may_read(self, status: str, agent_id: int | None) -> bool:
        return self.access.may_read_conversation(
            queued=status == ConversationStatus.QUEUED, assigned_agent_id=agent_id
        )

    # --- events from the channel layer ----------------------------------------------------------------------

    async def handoff_changed(self, event: dict[str, Any]) -> None:
        # Every socket hears of every handoff (so a claimed one leaves the others' queue); its context packet
        # only those who may read the conversation.
        view = frames.HandoffView.model_validate(event["handoff"])
        if not self._may_read(view.status, view.agent.id if view.agent else None):
            view = frames.without_context(view)
        await self.send_frame(frames.handoff_updated_frame(view))

    async def conversation_status_changed(self, event: dict[str, Any]) -> None:
        # Claimed by, or given to, someone else: a user who may no longer read it stops hearing its messages.
        await super().conversation_status_changed(event)
        if not self._may_read(event["status"], event["agent_id"]):
            await self._leave(uuid.UUID(event["conversation_id"]))

    async def conversation_erased(self, event: dict[str, Any]) -> None:
        # Its messages are gone: a later frame about it is answered as for any unknown conversation.
        await self._leave(uuid.UUID(event["conversation_id"]))

    async def access_changed(self, event: dict[str, Any]) -> None:
        before = self.access.perms
        if await self._still_allowed() and self.access.perms != before:
            # e.g. a supervisor made an agent: what this socket was sent and has open may no longer be theirs
            await self.close(code=CLOSE_ACCESS_CHANGED)

    async def access_revoked(self, event: dict[str, Any]) -> None:
        await self._close_for_access()


def _client_id(frame: Any) -> str | None:
    return getattr(frame, "client_id", None)
