"""The gate a candidate model must pass to be deployed, against the evaluation of the model in production
(docs/tuning.md): no drop in held-out accuracy beyond SWITCHBOARD_GATE_ACCURACY_MARGIN, every must-escalate
message of the held-out set reaching a person, no drop in the triage set's must-escalate recall, every test
story passing. With nothing in production, the comparisons pass and the absolute checks still hold.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.conf import settings

from tuning.evaluation import Evaluation, parse_evaluation

# Figures are ratios of counts: a tolerance keeps 0.98 - 0.01 from failing 0.97 on a float's last bit.
_EPSILON = 1e-9


class GateCheck(TypedDict):
    name: str
    passed: bool
    detail: str


class GateResult(TypedDict):
    passed: bool
    checks: list[GateCheck]


class ChangedPrediction(TypedDict):
    text: str
    expected: str
    production: str
    candidate: str
    production_confidence: float
    candidate_confidence: float


def gate_check(candidate: dict[str, Any], production: dict[str, Any] | None) -> GateResult:
    """Each check with its figures in words; passed only if every check passed."""
    new = parse_evaluation(candidate)
    old = parse_evaluation(production) if production is not None else None
    checks = [
        _accuracy(new, old, settings.GATE_ACCURACY_MARGIN),
        _must_escalate(new),
        _triage(new, old),
        _stories(new),
    ]
    return {"passed": all(check["passed"] for check in checks), "checks": checks}


def changed_predictions(candidate: dict[str, Any], production: dict[str, Any] | None) -> list[ChangedPrediction]:
    """The held-out messages the two models read as different intents, in the held-out set's order."""
    if production is None:
        return []
    before = {p.text: p for p in parse_evaluation(production).predictions}
    return [
        {
            "text": now.text,
            "expected": now.expected,
            "production": before[now.text].predicted,
            "candidate": now.predicted,
            "production_confidence": before[now.text].confidence,
            "candidate_confidence": now.confidence,
        }
        for now in parse_evaluation(candidate).predictions
        if now.text in before and before[now.text].predicted != now.predicted
    ]


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _accuracy(new: Evaluation, old: Evaluation | None, margin: float) -> GateCheck:
    figure = f"held-out accuracy {_pct(new.heldout.accuracy)} ({new.heldout.right}/{new.heldout.total})"
    if old is None:
        return {"name": "heldout_accuracy", "passed": True, "detail": f"{figure}; no model in production"}
    floor = old.heldout.accuracy - margin
    return {
        "name": "heldout_accuracy",
        "passed": new.heldout.accuracy >= floor - _EPSILON,
        "detail": f"{figure}; production {_pct(old.heldout.accuracy)}, at least {_pct(floor)} needed "
        f"(margin {margin * 100:.1f} points)",
    }


def _must_escalate(new: Evaluation) -> GateCheck:
    missed = new.must_escalate
    detail = f"{missed.reached}/{missed.total} must-escalate messages reached a person"
    if missed.missed:
        detail += "; missed: " + "; ".join(f"“{text}”" for text in missed.missed)
    return {"name": "must_escalate_recall", "passed": missed.reached == missed.total, "detail": detail}


def _triage(new: Evaluation, old: Evaluation | None) -> GateCheck:
    figure = f"triage must-escalate recall {_pct(new.triage.recall)} ({new.triage.reached}/{new.triage.total})"
    if old is None:
        return {"name": "triage_recall", "passed": True, "detail": f"{figure}; no model in production"}
    return {
        "name": "triage_recall",
        "passed": new.triage.recall >= old.triage.recall - _EPSILON,
        "detail": f"{figure}; production {_pct(old.triage.recall)} ({old.triage.reached}/{old.triage.total})",
    }


def _stories(new: Evaluation) -> GateCheck:
    stories = new.stories
    detail = f"{stories.passed}/{stories.total} test stories passed"
    if stories.failed:
        detail += "; failed: " + "; ".join(stories.failed)
    return {
        "name": "test_stories",
        "passed": not stories.failed and stories.passed == stories.total,
        "detail": detail,
    }
