"""A candidate's training data and figures (bot/governance/candidate.py): the approved examples merged with
bot/data as Rasa's own importer reads them, the data check, and the intent metrics with exact figures.

The whole run on the real Rasa (train with one added example, evaluate, evaluation.json) is the portal's
tests/portal/tuning/test_training_real.py, through the task that runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from governance.candidate import CandidateError, check_data, intent_metrics, merged_nlu

from tests.bot.conftest import BOT

EXAMPLES = """version: "3.1"
nlu:
- intent: opening_hours
  examples: |
    - are you lot open on boxing day
- intent: report_fraud
  examples: |
    - somebody spent [£40](amount) on my card last night
"""


def committed_examples() -> list[tuple[str, str]]:
    pairs = []
    for path in sorted((BOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" in block:
                lines = [line.strip() for line in block["examples"].splitlines() if line.strip()]
                pairs += [(line[2:], block["intent"]) for line in lines]
    return pairs


def test_merged_training_data_is_bot_data_plus_the_examples(tmp_path: Path) -> None:
    examples = tmp_path / "examples.yml"
    examples.write_text(EXAMPLES, encoding="utf-8")
    merged = merged_nlu(examples)
    read = {(m.get("text"), m.get("intent")) for m in merged.intent_examples}
    assert ("are you lot open on boxing day", "opening_hours") in read
    # The annotation is Rasa's: the text without it, the entity kept.
    spent = [m for m in merged.intent_examples if m.get("text") == "somebody spent £40 on my card last night"]
    found = [(m.get("intent"), [e["value"] for e in m.get("entities")]) for m in spent]
    assert found == [("report_fraud", ["£40"])]
    committed = committed_examples()
    assert len(merged.intent_examples) == len(committed) + 2
    assert {intent for _, intent in committed} <= {m.get("intent") for m in merged.intent_examples}


def test_the_data_check_passes_bot_data_with_the_examples(tmp_path: Path) -> None:
    examples = tmp_path / "examples.yml"
    examples.write_text(EXAMPLES, encoding="utf-8")
    check_data(examples)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # No "- ": Rasa would skip the example with only a warning.
        ("version: '3.1'\nnlu:\n- intent: greet\n  examples: |\n    hello there\n", "only 0 of the 1"),
        ("version: '3.1'\nrules: []\n", "is not Rasa NLU data"),
    ],
)
def test_the_data_check_refuses_examples_rasa_would_drop(tmp_path: Path, text: str, error: str) -> None:
    examples = tmp_path / "examples.yml"
    examples.write_text(text, encoding="utf-8")
    with pytest.raises(CandidateError, match=error):
        check_data(examples)


def test_the_data_check_refuses_an_intent_the_domain_lacks(tmp_path: Path) -> None:
    examples = tmp_path / "examples.yml"
    examples.write_text("version: '3.1'\nnlu:\n- intent: buy_a_boat\n  examples: |\n    - a boat\n")
    with pytest.raises(CandidateError, match="not intents of the bot's domain: buy_a_boat"):
        check_data(examples)


def test_the_data_check_is_rasa_data_validate(tmp_path: Path) -> None:
    """An error `rasa data validate` finds fails the check: here a rule running an action the domain lacks."""
    examples = tmp_path / "examples.yml"
    examples.write_text(
        "version: '3.1'\nnlu:\n- intent: greet\n  examples: |\n    - hello there\nrules:\n"
        "- rule: broken\n  steps:\n  - intent: greet\n  - action: action_no_such_thing\n"
    )
    with pytest.raises(CandidateError, match="does not validate"):
        check_data(examples)


def test_intent_metrics_exact_figures() -> None:
    expected = ["balance", "balance", "greet", "pin", "pin"]
    predicted = ["balance", "greet", "greet", "pin", "nlu_fallback"]
    metrics = intent_metrics(expected, predicted)
    assert metrics["total"] == 5
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["labels"] == ["balance", "greet", "nlu_fallback", "pin"]
    assert metrics["per_intent"] == {
        "balance": {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2},
        "greet": {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1},
        "nlu_fallback": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
        "pin": {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2},
    }
    # sklearn's macro average, over every label expected or predicted.
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0 + 2 / 3) / 4)
    # Rows expected, columns predicted.
    assert metrics["confusion"] == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]]
    json.dumps(metrics)  # plain JSON types, for evaluation.json


def test_a_failed_run_says_why_on_its_last_progress_line(tmp_path: Path) -> None:
    """The command line as the portal runs it: only JSON lines on stdout, the error on the last, exit 1."""
    done = subprocess.run(
        [sys.executable, "-m", "governance.candidate", "evaluate", "--model", str(tmp_path / "none.tar.gz"),
         "--out", str(tmp_path / "out")],
        cwd=BOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": f"{BOT}:{BOT.parent}"},
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1
    missing = tmp_path / "none.tar.gz"
    assert lines[-1] == {"stage": "evaluation", "progress": 0.0, "error": f"no model at {missing}"}
    assert not (tmp_path / "out" / "evaluation.json").exists()
