"""Oversight's background work."""

from __future__ import annotations

from celery import shared_task

from oversight import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def discover_topics() -> int:
    """New-intent discovery over the last weeks' not-understood messages; the number of topics found."""
    return len(services.topics_discover())
