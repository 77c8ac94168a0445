"""What oversight keeps: the candidate topics new-intent discovery found among the messages the bot did not
understand (docs/oversight.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TopicStatus(models.TextChoices):
    OPEN = "open"  # found by the latest discovery, waiting for a manager
    ADOPTED = "adopted"  # its messages were labelled with an intent and became training examples
    DISMISSED = "dismissed"  # not worth learning from: its messages are ignored, and not grouped again


class Topic(models.Model):
    """A group of not-understood customer messages that mean the same thing, with the member nearest its centre
    as its exemplar. A discovery replaces the open topics; adopted and dismissed ones are kept as decided."""

    discovered_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=16, choices=TopicStatus.choices, default=TopicStatus.OPEN, db_index=True)
    records = models.ManyToManyField("tuning.NluRecord", related_name="topics")
    exemplar_text = models.TextField()  # masked, as the record it comes from
    size = models.PositiveIntegerField()
    cohesion = models.FloatField()  # the members' mean cosine to the group's centre
    nearest_intent = models.CharField(max_length=100, blank=True, default="")  # of the nearest training example
    nearest_intent_similarity = models.FloatField(default=0.0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    intent = models.CharField(max_length=100, blank=True, default="")  # what an adopted topic's messages meant

    class Meta:
        ordering = ["-size", "-id"]

    def __str__(self) -> str:
        return f"{self.size} × {self.exemplar_text[:40]}"
