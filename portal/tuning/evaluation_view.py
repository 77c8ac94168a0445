"""A version's evaluation beside production's, as the version page shows it: the figures side by side, the gate
against production now, the messages whose predicted intent changed, and the charts' data (drawn by
static/tuning/evaluation.js from a json_script: no inline script under the CSP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuning import gate, selectors
from tuning.models import ModelVersion


@dataclass(frozen=True)
class Figure:
    """One line of the side-by-side table: what it is, and each model's value as shown."""

    name: str
    testid: str
    candidate: str
    production: str


def comparison(version: ModelVersion, production: ModelVersion | None) -> dict[str, Any]:
    is_production = production is not None and production.pk == version.pk
    ours, theirs = version.evaluation, production.evaluation if production and not is_production else None
    verdict = None if is_production else selectors.deploy_gate(version, production)
    return {
        "version": version,
        "production": production,
        "is_production": is_production,
        "evaluation": ours,
        "production_evaluation": theirs,
        "gate": verdict,
        "deployable": bool(verdict and verdict["passed"]),
        "figures": _figures(ours, theirs) if ours else [],
        "changed": gate.changed_predictions(ours, theirs) if ours and theirs else [],
        "chart_data": _chart_data(ours, theirs) if ours else None,
    }


def _figures(ours: dict[str, Any], theirs: dict[str, Any] | None) -> list[Figure]:
    def each(read: Any) -> tuple[str, str]:
        return read(ours), read(theirs) if theirs else "—"

    def share(part: dict[str, Any], hit: str) -> str:
        return f"{part['recall']:.1%} ({part[hit]}/{part['total']})"

    rows = [
        ("Held-out accuracy", "accuracy", lambda e: f"{e['heldout']['accuracy']:.1%}"),
        ("Held-out macro-F1", "macro-f1", lambda e: f"{e['heldout']['macro_f1']:.3f}"),
        ("Must-escalate recall", "must-escalate", lambda e: share(e["must_escalate"], "reached")),
        ("Triage recall", "triage", lambda e: share(e["triage"], "reached")),
        (
            "Needless handoffs (routine)",
            "needless",
            lambda e: f"{e['triage']['needless']}/{e['triage']['routine_total']}",
        ),
        ("Test stories passed", "stories", lambda e: f"{e['stories']['passed']}/{e['stories']['total']}"),
    ]
    return [Figure(name, testid, *each(read)) for name, testid, read in rows]


def _chart_data(ours: dict[str, Any], theirs: dict[str, Any] | None) -> dict[str, Any]:
    """What evaluation.js draws: per-intent precision, recall and F1 (and production's F1) over the candidate's
    labels, and each model's confusion matrix (rows expected, columns predicted)."""
    labels = ours["heldout"]["labels"]
    per_intent, before = ours["heldout"]["per_intent"], (theirs or {}).get("heldout", {}).get("per_intent", {})

    def series(scores: dict[str, Any], key: str) -> list[float | None]:
        return [scores[label][key] if label in scores else None for label in labels]

    return {
        "labels": labels,
        "per_intent": {
            "precision": series(per_intent, "precision"),
            "recall": series(per_intent, "recall"),
            "f1": series(per_intent, "f1"),
            "production_f1": series(before, "f1") if theirs else None,
        },
        "confusion": {"labels": labels, "matrix": ours["heldout"]["confusion"]},
        "production_confusion": (
            {"labels": theirs["heldout"]["labels"], "matrix": theirs["heldout"]["confusion"]} if theirs else None
        ),
    }
