"""Oversight's background work: new-intent discovery, and the daily drift job (Celery beat, config/celery_app.py):
yesterday, UTC, against the four weeks before it."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from oversight import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def discover_topics() -> int:
    """New-intent discovery over the last weeks' not-understood messages; the number of topics found."""
    return len(services.topics_discover())


@shared_task(name="oversight.tasks.check_drift")
def check_drift(day: str | None = None) -> int:
    """Check `day` (ISO date; by default yesterday, UTC); how many measures drifted. Run again, it measures the
    day anew and mails nothing twice."""
    checked = date.fromisoformat(day) if day else timezone.now().date() - timedelta(days=1)
    return len(services.drift_check(days=[checked]))
