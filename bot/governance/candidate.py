"""A candidate model for the portal's Retrain, in the bot's own Python: check the data, train, evaluate; or
only evaluate a model (the baseline, the model built from bot/ as committed).

    cd bot && .venv/bin/python -m governance.candidate train --examples EXAMPLES.yml --out DIR
    cd bot && .venv/bin/python -m governance.candidate evaluate --model MODEL.tar.gz --out DIR

EXAMPLES.yml is the managers' approved examples as Rasa NLU YAML (the portal writes it:
tuning/training_data.py); `train` adds it to bot/data, validates the whole as `rasa data validate` does, trains
DIR/model.tar.gz and evaluates it. PYTHONPATH must hold bot/ and the repository root (`contracts`), as for
every bot command.

stdout carries only progress, one JSON object a line: {"stage": "data_check" | "training" | "evaluation",
"progress": 0..1 of the whole run}; on failure a last line adds "error" and the exit status is 1. Everything
Rasa prints goes to stderr (the log). DIR/evaluation.json is what docs/tuning.md describes; the portal's gate
(portal/tuning/gate.py) compares two of them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from governance import heldout

if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.training_data import TrainingData

EVALUATION_VERSION = 1
MODEL_FILE = "model.tar.gz"
EVALUATION_FILE = "evaluation.json"
BOT = heldout.BOT
DOMAIN = BOT / "domain.yml"
CONFIG = BOT / "config.yml"
STORIES = BOT / "tests" / "test_stories.yml"
# Each stage's share of a `train` run, from a measured run on 2 cores (docs/tuning.md).
TRAIN_STAGES = {"data_check": (0.0, 0.05), "training": (0.05, 0.25), "evaluation": (0.25, 1.0)}
EVALUATE_STAGES = {"evaluation": (0.0, 1.0)}


class CandidateError(Exception):
    """A step failed for a reason worth saying in one line (the log has the rest)."""


class Progress:
    """The JSON lines on stdout: each stage's fraction mapped onto the whole run's."""

    def __init__(self, out: TextIO, stages: dict[str, tuple[float, float]]) -> None:
        self._out, self._stages = out, stages
        self.stage, self.progress = next(iter(stages)), 0.0

    def report(self, stage: str, fraction: float) -> None:
        low, high = self._stages[stage]
        self.stage, self.progress = stage, round(low + (high - low) * min(max(fraction, 0.0), 1.0), 3)
        self._write({"stage": stage, "progress": self.progress})

    def fail(self, error: str) -> None:
        self._write({"stage": self.stage, "progress": self.progress, "error": error})

    def _write(self, line: dict[str, Any]) -> None:
        self._out.write(json.dumps(line) + "\n")
        self._out.flush()


# --- data check and training --------------------------------------------------------------------------------


def training_files(examples: Path) -> list[str]:
    """bot/data and the approved examples: Rasa merges the files it is given into one training set."""
    return [str(BOT / "data"), str(examples)]


def merged_nlu(examples: Path) -> TrainingData:
    """The NLU data a training on bot/data plus `examples` learns from, read by Rasa's own importer."""
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        str(CONFIG), str(DOMAIN), training_data_paths=training_files(examples)
    )
    return importer.get_nlu_data()


def check_data(examples: Path) -> None:
    """What `rasa data validate` checks (the function the command calls) on bot/data plus the examples, and
    that every example is read and of an intent of the domain."""
    import rasa.cli.utils
    from rasa.shared.importers.importer import TrainingDataImporter

    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    blocks = (yaml.safe_load(examples.read_text(encoding="utf-8")) or {}).get("nlu")
    if not isinstance(blocks, list):
        raise CandidateError(f"{examples} is not Rasa NLU data (no `nlu:` list)")
    # Rasa skips an example it cannot read with only a warning: a training must not drop one unseen.
    given = sum(1 for b in blocks for line in str(b.get("examples") or "").splitlines() if line.strip())
    added = RasaYAMLReader().read(str(examples))
    if len(added.intent_examples) != given:
        read = len(added.intent_examples)
        raise CandidateError(f"only {read} of the {given} approved examples read as Rasa training data")
    importer = TrainingDataImporter.load_from_config(
        str(CONFIG), str(DOMAIN), training_data_paths=training_files(examples)
    )
    # Rasa only warns of an intent its domain lacks; no rule would answer it.
    unknown = sorted(added.intents - set(importer.get_domain().intents))
    if unknown:
        raise CandidateError(f"not intents of the bot's domain: {', '.join(unknown)}")
    try:
        rasa.cli.utils.validate_files(fail_on_warnings=False, max_history=None, importer=importer)
    except SystemExit as exit:  # Rasa's validation ends the process on errors; say so instead
        if exit.code:
            raise CandidateError("the training data does not validate (rasa data validate): see the log")


class _ComponentsTrained(logging.Handler):
    """Rasa logs each component it finishes training: the training stage's progress."""

    def __init__(self, total: int, report: Callable[[float], None]) -> None:
        super().__init__(logging.INFO)
        self._total, self._done, self._report = max(total, 1), 0, report

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Finished training component"):
            self._done += 1
            self._report(min(self._done / self._total, 0.95))


def train(examples: Path, out: Path, report: Callable[[float], None]) -> Path:
    """Trains bot/ with the examples into out/model.tar.gz, with no training cache (a changed custom component
    would come back stale from it: its key is the config and data, not the code)."""
    from rasa.model_training import train as rasa_train

    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    components = len(config.get("pipeline") or []) + len(config.get("policies") or [])
    hooks = logging.getLogger("rasa.engine.training.hooks")
    counter = _ComponentsTrained(components, report)
    hooks.addHandler(counter)
    hooks.setLevel(logging.INFO)
    try:
        result = rasa_train(
            str(DOMAIN),
            str(CONFIG),
            training_files(examples),
            output=str(out),
            fixed_model_name=MODEL_FILE.removesuffix(".tar.gz"),
            force_training=True,
        )
    finally:
        hooks.removeHandler(counter)
    model = out / MODEL_FILE
    if result.code != 0 or not model.exists():
        raise CandidateError(f"training failed (Rasa's exit code {result.code}): see the log")
    return model


# --- evaluation ---------------------------------------------------------------------------------------------


def intent_metrics(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-intent precision/recall/F1 (sklearn's, over every intent expected or
    predicted), and the confusion matrix: rows expected, columns predicted, in `labels` order."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = sorted(set(expected) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, zero_division=0
    )
    total = len(expected)
    right = sum(e == p for e, p in zip(expected, predicted))
    return {
        "total": total,
        "accuracy": right / total if total else 0.0,
        "macro_f1": float(sum(f1) / len(labels)) if labels else 0.0,
        "labels": labels,
        "per_intent": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion": confusion_matrix(expected, predicted, labels=labels).tolist(),
    }


@dataclass
class _Ticker:
    """Counts evaluated messages and reports about every 2 % of them."""

    total: int
    report: Callable[[float], None]
    done: int = 0

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.done == self.total or self.done % max(self.total // 50, 1) == 0:
            self.report(self.done / self.total)


async def _story_results(agent: Agent) -> tuple[int, list[str]]:
    """The test stories (bot/tests/test_stories.yml) on the loaded model, as `rasa test core --stories` runs
    them (the same functions, on the one loaded agent): how many, and the names of those that failed."""
    from rasa.core.test import _collect_story_predictions, _create_data_generator

    trackers = _create_data_generator(str(STORIES), agent).generate_story_trackers()
    evaluation, _, _ = await _collect_story_predictions(trackers, agent)
    return len(trackers), [tracker.sender_id for tracker in evaluation.failed_stories]


async def _evaluate(agent: Agent, domain: dict[str, Any], report: Callable[[float], None]) -> dict[str, Any]:
    rows = heldout.heldout()
    escalations = [text for text, intent in rows if intent in heldout.escalation_intents()]
    cases = heldout.cases()
    stories_weight = 20  # about as long as 20 messages
    ticker = _Ticker(len(rows) + len(escalations) + len(cases) + stories_weight, report)

    predictions = []
    for text, intent in rows:
        parsed = await agent.parse_message(text)
        predictions.append(
            {
                "text": text,
                "expected": intent,
                "predicted": heldout.classified_intent(parsed),
                "confidence": round(heldout.classified_confidence(parsed), 4),
            }
        )
        ticker.tick()
    escalated = await heldout.run_turns(agent, escalations, ticker.tick)
    missed = [text for text in escalations if not escalated[text].handoff]
    turns = await heldout.run_turns(agent, [case.text for case in cases], ticker.tick)
    figures = heldout.triage_figures(turns, domain)
    stories_total, failed = await _story_results(agent)
    ticker.tick(stories_weight)

    reached = len(escalations) - len(missed)
    return {
        "version": EVALUATION_VERSION,
        "heldout": intent_metrics(
            [p["expected"] for p in predictions], [p["predicted"] for p in predictions]
        ),
        "must_escalate": {
            "total": len(escalations),
            "reached": reached,
            "recall": reached / len(escalations) if escalations else 1.0,
            "missed": missed,
        },
        "triage": {
            "total": len(figures.must_escalate),
            "reached": len(figures.escalated),
            "recall": len(figures.escalated) / len(figures.must_escalate) if figures.must_escalate else 1.0,
            "needless": len(figures.needless),
            "routine_total": len(figures.routine),
        },
        "stories": {"total": stories_total, "passed": stories_total - len(failed), "failed": failed},
        "predictions": predictions,
    }


def evaluate(model: Path, out: Path, report: Callable[[float], None]) -> dict[str, Any]:
    """Evaluates `model` (loaded once, beside the real action server) and writes out/evaluation.json."""
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    with heldout.action_server() as actions_url:
        agent = heldout.load_agent(model, actions_url)
        evaluation = asyncio.run(_evaluate(agent, domain, report))
    written = out / f".{EVALUATION_FILE}.partial"
    written.write_text(json.dumps(evaluation, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(written, out / EVALUATION_FILE)  # whole or absent: a killed run leaves no half file
    return evaluation


# --- command line -------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m governance.candidate", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("train", help="check the data, train into DIR/model.tar.gz, evaluate")
    t.add_argument("--examples", type=Path, required=True, help="the approved examples, Rasa NLU YAML")
    t.add_argument("--out", type=Path, required=True)
    e = sub.add_parser("evaluate", help="evaluate a trained model into DIR/evaluation.json")
    e.add_argument("--model", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    return p


def run(args: argparse.Namespace, progress: Progress) -> None:
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.mode == "train":
        examples = args.examples.resolve()
        progress.report("data_check", 0.0)
        check_data(examples)
        progress.report("training", 0.0)
        model = train(examples, out, lambda f: progress.report("training", f))
    else:
        model = args.model.resolve()
        if not model.is_file():
            raise CandidateError(f"no model at {model}")
    progress.report("evaluation", 0.0)
    evaluate(model, out, lambda f: progress.report("evaluation", f))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Rasa prints to stdout (and so may anything it loads): fd 1 becomes stderr, progress keeps the real one.
    progress_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"  # no training cache: see train()
    os.chdir(BOT)  # config.yml's "spacy_pipeline" and the test stories' paths are relative to bot/
    progress = Progress(progress_out, TRAIN_STAGES if args.mode == "train" else EVALUATE_STAGES)
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.INFO)  # as the `rasa` command does: INFO, not every debug line
    configure_structlog(logging.INFO)
    try:
        run(args, progress)
    except Exception as exc:
        traceback.print_exc()
        progress.fail(str(exc) if isinstance(exc, CandidateError) else f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
