"""Retrain: one training at a time, the task over a stand-in for the bot's Python (a real child process speaking
the command's protocol: progress lines on stdout, a log on stderr, DIR/model.tar.gz and DIR/evaluation.json),
failures and kills, the beat sweep, the page. The real Rasa trains in test_training_real.py."""

from __future__ import annotations

import json
import stat
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from portal_support import evaluation, make_agent

from tuning import services, tasks, training_data
from tuning.models import (
    Deployment,
    DeploymentAction,
    GovernanceAction,
    GovernanceRecord,
    ModelVersion,
    Training,
    TrainingExample,
    TrainingStatus,
)

pytestmark = pytest.mark.django_db

# The stand-in: `python -m governance.candidate train --examples E --out D` as the bot's command speaks it.
# FAKE_MODE: ok (progress, files, exit 0), fail (an error line, exit 1), silent_crash (exit 3, no error line),
# hang (sleeps), bad_evaluation (a version-2 evaluation.json).
FAKE_BOT_PYTHON = '''#!{python}
import json, os, sys, time
from pathlib import Path
args = sys.argv[1:]
assert args[:3] == ["-m", "governance.candidate", "train"], args
examples, out = Path(args[args.index("--examples") + 1]), Path(args[args.index("--out") + 1])
Path(os.environ["FAKE_SEEN"]).write_text(json.dumps({{
    "argv": args, "cwd": os.getcwd(), "pythonpath": os.environ.get("PYTHONPATH", ""),
    "examples": examples.read_text(encoding="utf-8"),
}}))
mode = os.environ["FAKE_MODE"]
def say(line):
    print(json.dumps(line), flush=True)
for n in range(30):
    print(f"log line {{n}}", file=sys.stderr, flush=True)
say({{"stage": "data_check", "progress": 0.0}})
if mode == "fail":
    say({{"stage": "data_check", "progress": 0.0, "error": "only 0 of the 1 approved examples read"}})
    sys.exit(1)
say({{"stage": "training", "progress": 0.05}})
if mode == "silent_crash":
    sys.exit(3)
if mode == "hang":
    time.sleep(60)
say({{"stage": "training", "progress": 0.25}})
(out / "model.tar.gz").write_bytes(b"a model")
say({{"stage": "evaluation", "progress": 0.6}})
(out / "evaluation.json").write_text(os.environ["FAKE_EVALUATION"])
say({{"stage": "evaluation", "progress": 1.0}})
'''


@pytest.fixture
def fake_bot(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    python = tmp_path / "bot-python"
    python.write_text(FAKE_BOT_PYTHON.format(python=sys.executable))
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    settings.BOT_PYTHON = python
    settings.MODELS_DIR = tmp_path / "models"
    fake: dict[str, Any] = {"seen": tmp_path / "seen.json", "evaluation": evaluation(right=155)}
    monkeypatch.setenv("FAKE_SEEN", str(fake["seen"]))
    monkeypatch.setenv("FAKE_MODE", "ok")
    monkeypatch.setenv("FAKE_EVALUATION", json.dumps(fake["evaluation"]))
    return fake


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The events published (the group and the event), in order."""
    published: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("tuning.events.publish_on_commit", lambda group, event: published.append((group, event)))
    return published


def trail() -> list[tuple[str, dict[str, Any]]]:
    return [(r.action, r.detail) for r in GovernanceRecord.objects.order_by("id")]


def test_a_second_request_while_one_is_queued_or_running_is_refused(sent: list) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    first = services.training_request(by=mia)
    with pytest.raises(services.TrainingRefused) as refused:
        services.training_request(by=mia)
    assert str(refused.value) == (
        f"One training at a time: training #{first.pk} is queued. Wait for it to finish, then retrain."
    )
    Training.objects.filter(pk=first.pk).update(status=TrainingStatus.RUNNING)
    with pytest.raises(services.TrainingRefused, match=f"training #{first.pk} is running"):
        services.training_request(by=mia)
    assert list(Training.objects.values_list("pk", flat=True)) == [first.pk]
    assert trail() == [(GovernanceAction.TRAINING_REQUESTED, {"training_id": first.pk})]
    assert [(group, event["frame"]["status"]) for group, event in sent] == [("managers", "queued")]
    Training.objects.filter(pk=first.pk).update(status=TrainingStatus.FAILED)
    assert services.training_request(by=mia).pk > first.pk  # once it is over, the next may start


def test_the_constraint_refuses_a_second_active_training_too(sent: list) -> None:
    """Two requests racing past the check: the database's constraint has the last word, said the same way."""
    mia = make_agent("mia", "Mia", role="manager")
    first = services.training_request(by=mia)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tuning.selectors.active_training", lambda: None)  # the check saw nothing
        with pytest.raises(services.TrainingRefused, match="One training at a time"):
            services.training_request(by=mia)
    assert Training.objects.get().pk == first.pk


def test_the_task_trains_in_the_bot_python_and_keeps_a_model_version(
    fake_bot: dict[str, Any], sent: list, settings: Any
) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    TrainingExample.objects.create(text="are you lot open on boxing day", intent="opening_hours", approved_by=mia)
    TrainingExample.objects.create(
        text="an old one", intent="greet", approved_by=mia, withdrawn_at=timezone.now()
    )
    training = services.training_request(by=mia)
    tasks.train_candidate(training.pk)

    training.refresh_from_db()
    assert (training.status, training.stage, training.progress, training.error) == ("succeeded", "", 1.0, "")
    assert training.started_at and training.finished_at
    seen = json.loads(fake_bot["seen"].read_text())
    folder = Path(settings.MODELS_DIR) / f"candidate-{training.pk}"
    assert seen["argv"] == [
        "-m", "governance.candidate", "train", "--examples", str(folder / "examples.yml"), "--out", str(folder)
    ]
    assert seen["cwd"] == str(settings.BOT_DIR)
    assert seen["pythonpath"].split(":") == [str(settings.BOT_DIR), str(Path(settings.BOT_DIR).parent)]
    # The approved examples, not the withdrawn one, as the portal's one writer writes them.
    approved = list(TrainingExample.objects.filter(withdrawn_at__isnull=True))
    assert seen["examples"] == training_data.nlu_yaml(approved)
    assert "are you lot open on boxing day" in seen["examples"] and "an old one" not in seen["examples"]

    version = ModelVersion.objects.get()
    assert version.name == f"candidate-{training.pk}"
    assert version.path == str(folder / f"candidate-{training.pk}.tar.gz")
    assert Path(version.path).read_bytes() == b"a model"
    assert version.training_id == training.pk
    assert version.examples == [{"text": "are you lot open on boxing day", "intent": "opening_hours"}]
    assert version.data_digest == training_data.data_digest(seen["examples"])
    assert version.evaluation == fake_bot["evaluation"]
    assert version.gate is not None and version.gate["passed"] is True  # nothing in production to compare with
    assert not Deployment.objects.exists()  # a candidate is not deployed by training it

    frames = [event["frame"] for group, event in sent]
    assert {group for group, _ in sent} == {"managers"}
    assert [(f["status"], f["stage"], f["progress"]) for f in frames] == [
        ("queued", "", 0.0),
        ("running", "data_check", 0.0),
        ("running", "data_check", 0.0),
        ("running", "training", 0.05),
        ("running", "training", 0.25),
        ("running", "evaluation", 0.6),
        ("running", "evaluation", 1.0),
        ("succeeded", "", 1.0),
    ]
    assert trail() == [
        (GovernanceAction.TRAINING_REQUESTED, {"training_id": training.pk}),
        (
            GovernanceAction.TRAINING_FINISHED,
            {
                "training_id": training.pk,
                "status": "succeeded",
                "model_version_id": version.pk,
                "gate_passed": True,
                "compared_with": None,
            },
        ),
    ]
    tasks.train_candidate(training.pk)  # delivered again: done already, nothing happens
    assert ModelVersion.objects.count() == 1


def test_the_gate_compares_with_the_deployed_version(fake_bot: dict[str, Any], sent: list) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    baseline = ModelVersion.objects.create(name="model-base", path="/m/base.tar.gz", evaluation=evaluation(right=158))
    Deployment.objects.create(model_version=baseline, action=DeploymentAction.DEPLOYED)
    training = services.training_request(by=mia)
    tasks.train_candidate(training.pk)
    version = ModelVersion.objects.get(training=training)
    assert version.gate == {
        "passed": False,
        "checks": [
            {
                "name": "heldout_accuracy",
                "passed": False,
                "detail": "held-out accuracy 96.9 % (155/160); production 98.8 %, at least 97.8 % needed "
                "(margin 1.0 points)",
            },
            {"name": "must_escalate_recall", "passed": True, "detail": "61/61 must-escalate messages reached a person"},
            {
                "name": "triage_recall",
                "passed": True,
                "detail": "triage must-escalate recall 94.8 % (110/116); production 94.8 % (110/116)",
            },
            {"name": "test_stories", "passed": True, "detail": "15/15 test stories passed"},
        ],
    }
    assert GovernanceRecord.objects.filter(action=GovernanceAction.TRAINING_FINISHED).get().detail[
        "compared_with"
    ] == baseline.pk
    assert Deployment.objects.get().model_version_id == baseline.pk  # production untouched


def failed_training(fake_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch, mode: str) -> Training:
    monkeypatch.setenv("FAKE_MODE", mode)
    mia = make_agent("mia", "Mia", role="manager")
    training = services.training_request(by=mia)
    tasks.train_candidate(training.pk)
    training.refresh_from_db()
    assert training.status == TrainingStatus.FAILED
    assert not ModelVersion.objects.exists()
    assert training.finished_at is not None
    return training


LOG_TAIL = "\n".join(f"log line {n}" for n in range(30))


def test_a_failed_run_says_why_with_the_log_tail(
    fake_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sent: list, settings: Any
) -> None:
    training = failed_training(fake_bot, monkeypatch, "fail")
    assert training.error == "only 0 of the 1 approved examples read"
    assert training.log_tail == LOG_TAIL
    assert not (Path(settings.MODELS_DIR) / f"candidate-{training.pk}").exists()
    assert trail()[-1] == (
        GovernanceAction.TRAINING_FINISHED,
        {"training_id": training.pk, "status": "failed", "error": "only 0 of the 1 approved examples read"},
    )
    assert sent[-1][1]["frame"] == {
        "type": "training.updated",
        "id": training.pk,
        "status": "failed",
        "stage": "data_check",
        "progress": 0.0,
        "error": "only 0 of the 1 approved examples read",
        "log_tail": LOG_TAIL,
    }


def test_a_run_that_dies_without_a_word_says_its_exit_status(
    fake_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sent: list
) -> None:
    training = failed_training(fake_bot, monkeypatch, "silent_crash")
    assert training.error == "the bot's training process exited with status 3"
    assert training.log_tail == LOG_TAIL
    assert (training.stage, training.progress) == ("training", 0.05)  # where it got to


def test_a_run_past_the_time_limit_is_killed(
    fake_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sent: list, settings: Any
) -> None:
    settings.TRAINING_TIME_LIMIT_SECONDS = 2
    training = failed_training(fake_bot, monkeypatch, "hang")
    assert training.error == "it ran past its time limit (2 s) and was stopped"


def test_an_evaluation_the_gate_cannot_read_fails_the_training(
    fake_bot: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sent: list
) -> None:
    monkeypatch.setenv("FAKE_EVALUATION", json.dumps({**fake_bot["evaluation"], "version": 2}))
    training = failed_training(fake_bot, monkeypatch, "ok")
    assert training.error.startswith("ValidationError: 1 validation error for Evaluation\nversion")
    assert training.log_tail == LOG_TAIL


def test_a_training_left_running_by_a_dead_worker_fails(sent: list, settings: Any) -> None:
    """Delivered again after its worker died (acks_late), or swept by beat past the time limit."""
    mia = make_agent("mia", "Mia", role="manager")
    redelivered = services.training_request(by=mia)
    Training.objects.filter(pk=redelivered.pk).update(status=TrainingStatus.RUNNING, started_at=timezone.now())
    tasks.train_candidate(redelivered.pk)
    redelivered.refresh_from_db()
    assert (redelivered.status, redelivered.error) == ("failed", "the worker running it stopped before it finished")

    settings.TRAINING_TIME_LIMIT_SECONDS = 600
    now = timezone.now()
    old_running = Training.objects.create(
        requested_by=mia, status=TrainingStatus.RUNNING, started_at=now - timedelta(seconds=601)
    )
    tasks.sweep_stale_trainings()
    old_running.refresh_from_db()
    assert old_running.status == TrainingStatus.FAILED
    assert old_running.error == (
        "still not finished 600 s after it began, its time limit: its worker stopped or was killed"
    )
    never_started = Training.objects.create(requested_by=mia, requested_at=now - timedelta(seconds=601))
    fresh = Training.objects.filter(pk=never_started.pk)
    assert services.trainings_fail_stale() == [never_started.pk]
    assert fresh.get().status == TrainingStatus.FAILED
    young = Training.objects.create(
        requested_by=mia, status=TrainingStatus.RUNNING, started_at=now - timedelta(seconds=500)
    )
    assert services.trainings_fail_stale() == []
    young.refresh_from_db()
    assert young.status == TrainingStatus.RUNNING
    assert not ModelVersion.objects.exists()


def test_a_late_success_after_the_sweep_keeps_no_candidate(sent: list) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    training = Training.objects.create(requested_by=mia, status=TrainingStatus.RUNNING, started_at=timezone.now())
    services.training_fail(training_id=training.pk, error="swept")
    assert services.training_succeed(
        training_id=training.pk, name="candidate-x", path="/x", examples=[], data_digest="d", evaluation=evaluation()
    ) is None
    assert not ModelVersion.objects.exists()
    assert Training.objects.get().error == "swept"


def test_the_page_retrains_and_says_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr(services, "_queue_training", queued.append)
    mia = make_agent("mia", "Mia", role="manager")
    client = Client()
    client.force_login(mia)
    page = client.get("/agents/manager/training/")
    assert page.status_code == 200
    assert b'data-testid="retrain"' in page.content and b"No training yet." in page.content
    assert b'href="/agents/manager/training/"' in client.get("/agents/manager/").content  # linked from home

    first = client.post("/agents/manager/training/retrain/", follow=True)
    training = Training.objects.get()
    assert f"Training #{training.pk} is queued".encode() in first.content
    assert f'data-training-id="{training.pk}"'.encode() in first.content
    second = client.post("/agents/manager/training/retrain/", follow=True)
    assert b"One training at a time: training #" in second.content
    assert Training.objects.count() == 1

    Training.objects.filter(pk=training.pk).update(
        status=TrainingStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=72)
    )
    services.training_fail(training_id=training.pk, error="the data does not validate", log_tail="line 1\nline 2")
    failed = client.get("/agents/manager/training/")
    assert b'<td data-testid="training-took">1 min 12 s</td>' in failed.content
    assert b"the data does not validate" in failed.content
    assert b"line 1\nline 2" in failed.content


def test_only_managers_reach_the_page_and_the_button() -> None:
    sam = make_agent("sam", "Sam")
    client = Client()
    client.force_login(sam)
    assert client.get("/agents/manager/training/").status_code == 403
    assert client.post("/agents/manager/training/retrain/").status_code == 403
    assert not Training.objects.exists()
    assert Client().post("/agents/manager/training/retrain/").status_code == 302  # to the login page


def test_the_data_digest_covers_what_the_model_learns_from_the_triage_files_too(tmp_path: Path, settings: Any) -> None:
    for name in ("config.yml", "domain.yml", "data/nlu/cards.yml", "triage/screen_examples.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"# {name}\n", encoding="utf-8")
    settings.BOT_DIR = str(tmp_path)
    before = training_data.data_digest("")
    (tmp_path / "triage" / "screen_examples.yml").write_text("needs_a_person: {}\n", encoding="utf-8")
    assert training_data.data_digest("") != before
    assert training_data.data_digest("- intent: x\n") != training_data.data_digest("")
