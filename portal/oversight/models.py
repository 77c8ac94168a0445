"""What oversight keeps: the candidate topics new-intent discovery found among the messages the bot did not
understand, and what the daily drift job measured, one row per day and measure (oversight/drift.py): the
dashboard's drift charts draw those rows, and a row past its band is an alert, mailed to the managers once
(docs/oversight.md)."""

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


class Measure(models.TextChoices):
    INTENT_MIX = "intent_mix", "Intent mix (PSI)"
    INTENT_SHARE = "intent_share", "An intent's share"
    CONFIDENCE = "confidence", "Confidence distribution (PSI)"
    FALLBACK_RATE = "fallback_rate", "Fallback rate"
    HANDOFF_RATE = "handoff_rate", "Handoff rate"


class DriftCheck(models.Model):
    day = models.DateField(db_index=True)  # UTC
    measure = models.CharField(max_length=32, choices=Measure.choices)
    value = models.FloatField()
    baseline = models.FloatField()  # the trailing weeks' share or mean rate (0 for a PSI)
    low = models.FloatField()  # the band the value was expected in
    high = models.FloatField()
    detail = models.CharField(max_length=100, blank=True, default="")  # the intent, for intent_share
    drifted = models.BooleanField(default=False, db_index=True)
    checked_at = models.DateTimeField(default=timezone.now)
    mailed_at = models.DateTimeField(null=True, blank=True)  # the alert's mail to the managers, once

    class Meta:
        ordering = ["day", "measure"]
        constraints = [models.UniqueConstraint(fields=["day", "measure"], name="one_drift_check_a_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.value:.3f}{' drift' if self.drifted else ''}"
