"""Celery tasks of the handoff queue."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from conversations.models import ConversationStatus, Handoff
from handoff import services


@shared_task(acks_late=True)
def raise_waiting_priorities() -> int:
    """Raise by one step every queued handoff that has waited too long at its priority. Returns how many."""
    due = timezone.now() - timedelta(seconds=settings.HANDOFF_PRIORITY_RAISE_AFTER_SECONDS)
    waiting = Handoff.objects.filter(
        closed_at__isnull=True, conversation__status=ConversationStatus.QUEUED, priority_changed_at__lte=due
    ).values_list("pk", flat=True)
    return sum(1 for handoff_id in list(waiting) if services.handoff_raise_priority(handoff_id=handoff_id))
