"""What the bot understood, what managers and agents said it should have understood, and the models it runs.

tuning depends on conversations (a record belongs to a customer message) and agents (who may govern); neither
imports tuning. docs/tuning.md tells the whole loop.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conversations.models import AppendOnlyRecord


class NluRecord(models.Model):
    """The bot's reading of one customer message, as Rasa's event broker streamed it: its intent, confidence,
    the next intents and the entities. Erased with the message (and so with its conversation)."""

    message = models.OneToOneField("conversations.Message", on_delete=models.CASCADE, related_name="nlu")
    text = models.TextField()  # as the bot read it: personal data already masked
    intent = models.CharField(max_length=100, db_index=True)  # `nlu_fallback` when below its threshold
    confidence = models.FloatField(db_index=True)
    ranking = models.JSONField(default=list)  # [{"name": intent, "confidence": float}], best first
    entities = models.JSONField(default=list)  # [{"entity", "value", "start", "end"}]
    model_id = models.CharField(max_length=64, blank=True, default="")  # Rasa's id of the model that read it
    classified_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-classified_at", "-id"]

    def __str__(self) -> str:
        return f"{self.intent} {self.confidence:.2f} {self.text[:40]}"


class Verdict(models.TextChoices):
    CONFIRMED = "confirmed"  # the bot read it right
    RELABELLED = "relabelled"  # it meant another intent
    OUT_OF_SCOPE = "out_of_scope"  # nothing the bot should answer
    IGNORED = "ignored"  # not worth learning from (noise, test, a duplicate)


class Review(models.Model):
    """A manager's decision on one record (the latest decision stands; each is in the governance trail)."""

    record = models.OneToOneField(NluRecord, on_delete=models.CASCADE, related_name="review")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    intent = models.CharField(max_length=100, blank=True, default="")  # the intent it meant, unless ignored
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)


class TrainingExample(models.Model):
    """An approved example the next training adds to bot/data: made by a manager's review (or written by one),
    exported as Rasa YAML so the team commits it to bot/data and the repository stays the source of truth."""

    text = models.TextField()
    intent = models.CharField(max_length=100, db_index=True)
    # The record it came from; kept when the conversation is erased (the text is masked and no longer theirs).
    record = models.OneToOneField(
        NluRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_example"
    )
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)  # no longer trained on

    class Meta:
        ordering = ["intent", "id"]


class TrainingStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Training(models.Model):
    """One retrain a manager asked for: data check, training and evaluation, in the bot's own Python."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED)
    stage = models.CharField(max_length=32, blank=True, default="")  # data_check, training, evaluation
    progress = models.FloatField(default=0.0)  # 0..1 over the three stages
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")  # why it failed
    log_tail = models.TextField(blank=True, default="")  # the last lines of the failed step's output

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One training at a time: a second request while one is queued or running is refused.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_training_at_a_time",
            ),
        ]


class ModelVersion(models.Model):
    """A trained model the bot can run, kept with what it was trained on and how it scored."""

    name = models.CharField(max_length=100, unique=True)  # the file's stem
    path = models.CharField(max_length=500)  # the .tar.gz the Rasa server loads
    training = models.OneToOneField(
        Training, null=True, blank=True, on_delete=models.PROTECT, related_name="model_version"
    )  # none for the model built from bot/ as committed (the baseline)
    created_at = models.DateTimeField(default=timezone.now)
    data_digest = models.CharField(max_length=64, blank=True, default="")  # of bot/ + the examples added
    examples = models.JSONField(default=list)  # [{"text", "intent"}]: the approved examples it was trained with
    evaluation = models.JSONField(null=True, blank=True)  # held-out metrics, confusion, stories, changes
    gate = models.JSONField(null=True, blank=True)  # {"passed": bool, "checks": [{"name", "passed", "detail"}]}

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class DeploymentAction(models.TextChoices):
    DEPLOYED = "deployed"
    ROLLED_BACK = "rolled_back"


class Deployment(models.Model):
    """A model put into production; the latest row is what the bot runs now. Append-only history."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="deployments")
    action = models.CharField(max_length=16, choices=DeploymentAction.choices)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # none for the baseline registered at start-up
    deployed_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-deployed_at", "-id"]


class GovernanceAction(models.TextChoices):
    REVIEWED = "reviewed"  # a record confirmed, relabelled, marked out of scope or ignored
    EXAMPLE_WITHDRAWN = "example_withdrawn"
    TRAINING_REQUESTED = "training_requested"
    TRAINING_FINISHED = "training_finished"  # detail: status, error
    DEPLOYED = "deployed"
    ROLLED_BACK = "rolled_back"
    EXAMPLES_EXPORTED = "examples_exported"


class GovernanceRecord(AppendOnlyRecord):
    """Who changed what the bot knows or runs, and when: the managers' audit trail (tuning/audit.py writes it in
    the transaction of the change). Append-only, like conversations.AuditRecord."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # none for the system (a training that finished by itself)
    action = models.CharField(max_length=24, choices=GovernanceAction.choices)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
