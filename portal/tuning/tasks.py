"""Celery tasks of tuning. Each takes ids (or nothing), reloads, and does nothing if its work is already done."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from pathlib import Path

import redis
from celery import shared_task
from django.conf import settings

from tuning import deploy, nlu_stream, services, trainer, training_data
from tuning.evaluation import parse_evaluation

logger = logging.getLogger(__name__)

# Batches one run stores at most, so a backlog (the portal was down) is worked off over several runs and no run
# outlasts its time limit; beat starts the next within seconds.
MAX_BATCHES_PER_RUN = 20


@shared_task(acks_late=True)
def ingest_nlu_stream() -> int:
    """Store the readings the bot streamed since the last run as NluRecords (every few seconds, beat); each batch
    is acknowledged once it is committed. Entries left unacknowledged by a run that died are claimed first.
    Returns how many records were new; nothing when the stream is off (no NLU_STREAM_URL)."""
    stream = nlu_stream.get_stream(consumer=f"{socket.gethostname()}-{os.getpid()}")
    if stream is None:
        return 0
    stored = 0
    try:
        stream.ensure_group()
        entries = stream.claim_stale(settings.NLU_INGEST_BATCH, settings.NLU_INGEST_RECLAIM_SECONDS)
        for _ in range(MAX_BATCHES_PER_RUN):
            entries = entries or stream.read_new(settings.NLU_INGEST_BATCH)
            if not entries:
                break
            stored += services.nlu_records_store(readings=[e.reading for e in entries if e.reading is not None])
            stream.ack([entry.entry_id for entry in entries])
            entries = []
    except redis.RedisError as exc:  # the next run tries again; what was not acknowledged is read again
        logger.warning("NLU stream not read: %s", exc)
    return stored


# Loading a model may take up to RASA_MODEL_LOAD_TIMEOUT_SECONDS (300): past the app's 60 s default limit.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=330, time_limit=360)
def keep_production_model_loaded() -> bool:
    """The Rasa server runs the version in production (tuning.deploy.model_reconcile)."""
    return deploy.model_reconcile()


# The candidate's model file, its evaluation and its examples, as the bot's command writes them in its folder.
MODEL_FILE, EVALUATION_FILE, EXAMPLES_FILE = "model.tar.gz", "evaluation.json", "examples.yml"


# Celery's default limits (90 s) are far below a training's; the process itself is killed at the setting's
# limit (trainer.run_candidate), these only bound a task that hangs around it.
@shared_task(
    acks_late=True,
    soft_time_limit=settings.TRAINING_TIME_LIMIT_SECONDS + 60,
    time_limit=settings.TRAINING_TIME_LIMIT_SECONDS + 120,
)
def train_candidate(training_id: int) -> None:
    """Data check, training and evaluation of a candidate in the bot's Python; on success a model version
    (under settings.MODELS_DIR) with its evaluation and gate, on failure the reason and the log's tail. Never
    touches the model in production."""
    started = services.training_start(training_id=training_id)
    if started is None:
        return
    name = f"candidate-{training_id}"
    folder = Path(settings.MODELS_DIR) / name
    shutil.rmtree(folder, ignore_errors=True)  # a half-written folder of an earlier, interrupted try
    folder.mkdir(parents=True)
    examples = folder / EXAMPLES_FILE
    examples.write_text(started.examples_yaml, encoding="utf-8")
    try:
        result = trainer.run_candidate(
            ["train", "--examples", str(examples), "--out", str(folder)],
            folder,
            lambda stage, progress: services.training_progress(
                training_id=training_id, stage=stage, progress=progress
            ),
            timeout=settings.TRAINING_TIME_LIMIT_SECONDS,
        )
        if result.ok:
            evaluation = json.loads((folder / EVALUATION_FILE).read_text(encoding="utf-8"))
            parse_evaluation(evaluation)  # refused here, as a failure, if it is not what the gate reads
            # Named after the version: Rasa reports a loaded model by its file's name.
            model = folder / f"{name}.tar.gz"
            os.replace(folder / MODEL_FILE, model)
    except Exception as exc:  # whatever went wrong, the training says so rather than staying "running"
        logger.exception("training %s failed", training_id)
        services.training_fail(
            training_id=training_id,
            error=f"{type(exc).__name__}: {exc}",
            log_tail=trainer.tail(folder / trainer.LOG_FILE),
        )
        shutil.rmtree(folder, ignore_errors=True)
        return
    if not result.ok:
        services.training_fail(training_id=training_id, error=result.error, log_tail=result.log_tail)
        shutil.rmtree(folder, ignore_errors=True)
        return
    version = services.training_succeed(
        training_id=training_id,
        name=name,
        path=str(model),
        examples=started.examples,
        data_digest=training_data.data_digest(started.examples_yaml),
        evaluation=evaluation,
    )
    if version is None:  # failed meanwhile (the sweep): nothing refers to its files
        shutil.rmtree(folder, ignore_errors=True)


@shared_task
def sweep_stale_trainings() -> None:
    """Beat: fail what a dead worker left queued or running past the time limit."""
    for training_id in services.trainings_fail_stale():
        logger.warning("training %s failed by the sweep: past its time limit", training_id)
