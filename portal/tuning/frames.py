"""The frames of the managers' WebSocket (/ws/manager/), typed once like the agents' (conversations/frames.py);
docs/protocol.md is their prose."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, TypeAdapter

from conversations.frames import ErrorFrame, PongFrame, Shape
from tuning.models import Training

TrainingStatusCode = Literal["queued", "running", "succeeded", "failed"]
TrainingStageCode = Literal["", "data_check", "training", "evaluation"]


class TrainingUpdatedFrame(Shape):
    """A training's state: sent on every change, and the latest one's when the socket opens (the re-sync)."""

    type: Literal["training.updated"] = "training.updated"
    id: int
    status: TrainingStatusCode
    stage: TrainingStageCode
    progress: float  # 0..1 over the three stages
    error: str  # why it failed; "" otherwise
    log_tail: str  # the last lines of the failed run's log; "" otherwise


def training_updated_frame(training: Training) -> TrainingUpdatedFrame:
    # Validated from the row's values: a status or stage the frame does not know is refused here.
    return TrainingUpdatedFrame.model_validate(
        {
            "id": training.pk,
            "status": training.status,
            "stage": training.stage,
            "progress": float(training.progress),
            "error": training.error,
            "log_tail": training.log_tail,
        }
    )


ManagerServerFrame = Annotated[Union[TrainingUpdatedFrame, PongFrame, ErrorFrame], Field(discriminator="type")]
MANAGER_SERVER_FRAMES: TypeAdapter[ManagerServerFrame] = TypeAdapter(ManagerServerFrame)
