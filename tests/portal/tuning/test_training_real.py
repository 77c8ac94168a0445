"""A retrain for real: the task runs the bot's own Python (bot/.venv), which checks bot/data plus one approved
example with `rasa data validate`'s checks, trains with Rasa, and evaluates the candidate on the held-out sets
through the real action server. Slow (about a minute and a half on 2 cores: docs/tuning.md), and real."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from portal_support import make_agent

from tuning import services, tasks
from tuning.evaluation import parse_evaluation
from tuning.models import ModelVersion, TrainingExample, TrainingStatus

pytestmark = [pytest.mark.django_db, pytest.mark.bot]


def test_a_retrain_on_the_real_rasa_keeps_an_evaluated_candidate(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path(settings.BOT_PYTHON).exists():
        pytest.fail(f"no bot Python at {settings.BOT_PYTHON}: run ./switchboard setup")
    settings.MODELS_DIR = tmp_path / "models"
    progress: list[tuple[str, float]] = []
    monkeypatch.setattr(
        "tuning.events.publish_on_commit",
        lambda group, event: progress.append((event["frame"]["stage"], event["frame"]["progress"])),
    )
    mia = make_agent("mia", "Mia", role="manager")
    TrainingExample.objects.create(text="are you lot open on boxing day", intent="opening_hours", approved_by=mia)
    training = services.training_request(by=mia)

    started = time.monotonic()
    tasks.train_candidate(training.pk)
    print(f"\nretrain (data check, training, evaluation): {time.monotonic() - started:.0f} s")

    training.refresh_from_db()
    assert training.status == TrainingStatus.SUCCEEDED, f"{training.error}\n{training.log_tail}"
    # Every stage reported, in order, the progress never going back.
    stages = [stage for stage, _ in progress if stage]
    assert stages[0] == "data_check" and "training" in stages and stages[-1] == "evaluation"
    assert [p for _, p in progress] == sorted(p for _, p in progress)

    version = ModelVersion.objects.get(training=training)
    folder = Path(settings.MODELS_DIR) / version.name
    assert Path(version.path) == folder / f"{version.name}.tar.gz" and Path(version.path).stat().st_size > 100_000
    # What was trained on: the portal's YAML, read back by Rasa's own reader inside the bot's data check.
    assert yaml.safe_load((folder / "examples.yml").read_text())["nlu"] == [
        {"intent": "opening_hours", "examples": "- are you lot open on boxing day\n"}
    ]
    written = json.loads((folder / "evaluation.json").read_text())
    assert version.evaluation == written
    evaluation = parse_evaluation(written)
    heldout = evaluation.heldout
    assert heldout.total == 160 == len(evaluation.predictions)
    assert heldout.accuracy >= 0.97  # tests/bot/test_heldout.py's floor
    assert heldout.right == round(heldout.accuracy * heldout.total)
    assert len(heldout.confusion) == len(heldout.labels) == len(heldout.confusion[0])
    assert sum(map(sum, heldout.confusion)) == 160
    assert sum(s.support for s in heldout.per_intent.values()) == 160
    assert evaluation.must_escalate.total == 61 and evaluation.must_escalate.missed == []
    # tests/bot/test_heldout_triage.py's floor for this set: every must-escalate message reaches a person.
    assert evaluation.triage.total == 116 and evaluation.triage.reached == 116
    assert evaluation.triage.routine_total == 157
    assert evaluation.stories.total == 16 and evaluation.stories.failed == []  # bot/tests/test_stories.yml
    assert version.gate == {"passed": True, "checks": version.gate["checks"]}  # nothing in production yet
