"""The managers' WebSocket (/ws/manager/): trainings as they progress. Only those who govern the bot
(agents.govern_bot) connect; their access is read again on every frame and whenever it changes (their `user.<id>`
group, as the agents' socket does), so a lost role closes the socket at once. docs/protocol.md lists its frames."""

from __future__ import annotations

import logging
from typing import Any


from conversations import events as conversation_events
from conversations import frames
from conversations.consumers import FrameSocket
from conversations.socket_database import database_call
from tuning import events, selectors
from tuning.access import governs_bot
from tuning.frames import TrainingUpdatedFrame, training_updated_frame

logger = logging.getLogger(__name__)

CLOSE_NOT_A_MANAGER = 4403


class ManagerConsumer(FrameSocket):
    manager: Any = None  # the user, once connect has accepted the socket

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_call(governs_bot)(user):
            await self.refuse(CLOSE_NOT_A_MANAGER)
            return
        self.manager = user
        # Join before reading the latest training: an update in between is sent twice, never missed.
        await self.channel_layer.group_add(events.MANAGERS_GROUP, self.channel_name)
        await self.channel_layer.group_add(conversation_events.user_group(self.manager.pk), self.channel_name)
        await self.accept()
        latest = await self._latest_training()
        if latest is not None:
            await self.send_frame(latest)

    async def disconnect(self, code: int) -> None:
        if self.manager is None:
            return
        await self.channel_layer.group_discard(events.MANAGERS_GROUP, self.channel_name)
        await self.channel_layer.group_discard(conversation_events.user_group(self.manager.pk), self.channel_name)

    async def handle_frame(self, data: dict[str, Any]) -> None:
        if self.manager is None or not await self._still_allowed():
            return
        if data["type"] != "ping":  # the socket only listens: a ping is all a client sends
            raise frames.FrameError("unknown_type", f"unknown frame type {data['type']!r}")
        await self.send_frame(frames.pong_frame())

    async def _still_allowed(self) -> bool:
        if await database_call(governs_bot)(self.manager):
            return True
        logger.info("manager socket closed, access gone: %s", self.manager.get_username())
        await self.close(code=CLOSE_NOT_A_MANAGER)
        return False

    @database_call
    def _latest_training(self) -> TrainingUpdatedFrame | None:
        training = selectors.latest_training()
        return training_updated_frame(training) if training else None

    # --- events from the channel layer ----------------------------------------------------------------------

    async def training_updated(self, event: dict[str, Any]) -> None:
        await self.send_frame(TrainingUpdatedFrame.model_validate(event["frame"]))

    async def access_changed(self, event: dict[str, Any]) -> None:
        await self._still_allowed()

    async def access_revoked(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_NOT_A_MANAGER)
