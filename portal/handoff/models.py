"""One handoff: a conversation's stay with people, from the queue to its resolution or its return to the bot."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from contracts.handoff import HandoffReason, Priority

REASON_CHOICES = [(r.value, r.label) for r in HandoffReason]
PRIORITY_CHOICES = [(p.value, p.value.title()) for p in Priority]


class Outcome(models.TextChoices):
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"


class Handoff(models.Model):
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="handoffs"
    )
    reason = models.CharField(max_length=40, choices=REASON_CHOICES)
    priority = models.CharField(max_length=16, choices=PRIORITY_CHOICES, default=Priority.NORMAL.value)
    context = models.JSONField()  # handoff.context.ContextPacket.to_dict(); docs/context-packet.md
    queued_at = models.DateTimeField()
    priority_changed_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")

    class Meta:
        ordering = ["queued_at", "id"]
        constraints = [
            # A conversation is with people at most once at a time.
            models.UniqueConstraint(
                fields=["conversation"], condition=models.Q(closed_at__isnull=True), name="one_open_handoff"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} {self.reason} ({self.priority})"

    @property
    def priority_enum(self) -> Priority:
        return Priority(self.priority)
