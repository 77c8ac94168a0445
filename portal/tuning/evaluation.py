"""A model's evaluation, as the bot's `python -m governance.candidate` writes it (DIR/evaluation.json, version 1;
docs/tuning.md): the one model that reads it in the portal, so a file of another shape is refused, not half-read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

EVALUATION_VERSION = 1


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class IntentScores(_Part):
    precision: float
    recall: float
    f1: float
    support: int


class HeldOut(_Part):
    """bot/tests/heldout.csv: intent accuracy, macro-F1, per intent, the confusion matrix."""

    total: int
    accuracy: float
    macro_f1: float
    labels: list[str]
    per_intent: dict[str, IntentScores]
    confusion: list[list[int]]  # rows expected, columns predicted, in `labels` order

    @property
    def right(self) -> int:
        return sum(self.confusion[i][i] for i in range(len(self.labels)))


class MustEscalate(_Part):
    """heldout.csv's messages of the handoff topics that reached a handoff through the real actions."""

    total: int
    reached: int
    recall: float
    missed: list[str]


class Triage(_Part):
    """bot/tests/heldout_triage.csv: must-escalate messages reaching a person, routine ones handed off."""

    total: int
    reached: int
    recall: float
    needless: int
    routine_total: int


class Stories(_Part):
    total: int
    passed: int
    failed: list[str]


class Prediction(_Part):
    text: str
    expected: str
    predicted: str
    confidence: float


class Evaluation(_Part):
    version: Literal[1]
    heldout: HeldOut
    must_escalate: MustEscalate
    triage: Triage
    stories: Stories
    predictions: list[Prediction]


def parse_evaluation(data: dict[str, Any]) -> Evaluation:
    """Raises pydantic.ValidationError for anything but a version-1 evaluation."""
    return Evaluation.model_validate(data)
