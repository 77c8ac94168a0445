"""Reads of tuning's data."""

from __future__ import annotations

from django.db.models import QuerySet

from tuning.models import TrainingExample


def approved_examples() -> QuerySet[TrainingExample]:
    """The examples the next training adds to bot/data: approved and not withdrawn."""
    return TrainingExample.objects.filter(withdrawn_at__isnull=True).order_by("intent", "id")
