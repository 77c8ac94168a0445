"""Celery tasks of tuning."""

from __future__ import annotations

import logging
import os
import socket

import redis
from celery import shared_task
from django.conf import settings

from tuning import deploy, nlu_stream, services

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
