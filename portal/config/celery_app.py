"""The Celery app: `celery -A config.celery_app worker` / `celery -A config.celery_app beat` (cwd portal/)."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # Tasks take ids only; JSON keeps them inspectable and safe (no pickle from the broker).
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    # A task is acknowledged once done: a worker that dies mid-task leaves it to be redelivered.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=60,
    task_time_limit=90,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
    beat_schedule={
        "sweep-undelivered-messages": {
            "task": "conversations.tasks.sweep_undelivered_messages",
            "schedule": 15.0,
        },
        "raise-waiting-priorities": {
            "task": "handoff.tasks.raise_waiting_priorities",
            "schedule": 30.0,
        },
        # docs/privacy.md: the retention job at night (UTC), and another try of any tracker the bot still holds.
        "erase-expired-conversations": {
            "task": "conversations.tasks.erase_expired_conversations",
            "schedule": crontab(hour=3, minute=15),
        },
        "erase-bot-trackers": {
            "task": "conversations.tasks.erase_bot_trackers",
            "schedule": crontab(minute=45),
        },
        # docs/oversight.md: new-intent discovery over the last weeks' not-understood messages, each night.
        "discover-topics": {
            "task": "oversight.tasks.discover_topics",
            "schedule": crontab(hour=4, minute=30),
        },
        "ingest-nlu-stream": {
            "task": "tuning.tasks.ingest_nlu_stream",
            "schedule": settings.NLU_INGEST_SECONDS,
        },
        "keep-production-model-loaded": {
            "task": "tuning.tasks.keep_production_model_loaded",
            "schedule": 30.0,
        },
        # Yesterday (UTC) against the four weeks before it: once a day, shortly after midnight.
        "check-drift": {
            "task": "oversight.tasks.check_drift",
            "schedule": crontab(hour=0, minute=20),
        },
        "sweep-stale-trainings": {
            "task": "tuning.tasks.sweep_stale_trainings",
            "schedule": 60.0,
        },
    },
)
app.autodiscover_tasks()


@worker_init.connect
def _publish_events_on_one_loop(**_: object) -> None:
    # Imported here: the apps load only once Django is set up.
    from conversations.events import start_publishing_loop

    start_publishing_loop()
