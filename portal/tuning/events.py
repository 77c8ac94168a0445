"""The managers' real-time events, sent after the transaction that caused them commits (conversations/events.py
sends them). Every manager socket is in the `managers` group."""

from __future__ import annotations

from conversations.events import publish_on_commit
from tuning.frames import training_updated_frame
from tuning.models import Training

MANAGERS_GROUP = "managers"


def training_updated(training: Training) -> None:
    """Queued, started, a step further, finished: the frame built now, as the transaction will commit it."""
    publish_on_commit(
        MANAGERS_GROUP, {"type": "training.updated", "frame": training_updated_frame(training).model_dump()}
    )
