"""A conversation, its messages and its handoffs. Plain data: every state change goes through transitions.py /
services.py."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from contracts.handoff import HandoffReason, Priority


class ConversationStatus(models.TextChoices):
    BOT = "bot", "With the bot"
    QUEUED = "queued", "Waiting for a person"
    ASSIGNED = "assigned", "With an agent"
    RESOLVED = "resolved", "Resolved"


class Conversation(models.Model):
    # The id travels to the bot (as Rasa's sender id) and in the customer's token: unguessable, not a counter.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT
    )
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The `seq` of its latest message: the next one gets last_seq + 1 (services.py, under this row's lock).
    last_seq = models.PositiveIntegerField(default=0)
    # Who started it, as a keyed hash of the client's address (conversations/limits.py): its handoffs are
    # counted against the address's limit without the address itself being kept.
    client_key = models.CharField(max_length=64, blank=True, default="")
    # The bank's own id of the customer, when the bank's site vouched for them with a signed assertion
    # (conversations/identity.py); blank for an anonymous visitor. Only a verified id is ever stored, so both
    # fields are set together (the constraint); indexed, since a data-protection request names a customer.
    customer_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    customer_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # created_at: the managers' dashboard reads conversations by when they started (oversight/selectors.py).
        indexes = [models.Index(fields=["status"]), models.Index(fields=["created_at"], name="conversation_created")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(customer_id="") & Q(customer_verified_at__isnull=True))
                | (~Q(customer_id="") & Q(customer_verified_at__isnull=False)),
                name="customer_id_only_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def customer_verified(self) -> bool:
        return bool(self.customer_id)


class Sender(models.TextChoices):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Delivery(models.TextChoices):
    """Whether a customer message reached the bot. Only customer messages have one."""

    PENDING = "pending"  # stored, waiting for its turn with the bot
    SENDING = "sending"  # with the bot now: at most one message of a conversation at a time (delivery.py)
    DELIVERED = "delivered"  # the bot answered it
    FAILED = "failed"  # the bot was down: the conversation went to a person instead
    SKIPPED = "skipped"  # written while a person had the conversation: never meant for the bot


# A customer message the bot has not answered yet: waiting for its turn, or with the bot now.
UNANSWERED = (Delivery.PENDING, Delivery.SENDING)


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # 1, 2, 3, … within the conversation, in the order stored: a client that sees a number skipped knows it
    # missed a message and asks for it (docs/protocol.md, "Sequence numbers").
    seq = models.PositiveIntegerField()
    sender = models.CharField(max_length=16, choices=Sender.choices)
    text = models.TextField()
    # A bot button's payload the customer chose (sent to the bot instead of the text), e.g. "/affirm".
    payload = models.CharField(max_length=2000, blank=True, default="")
    buttons = models.JSONField(default=list, blank=True)  # bot messages: [{"title", "payload"}]
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Chosen by the client for each message it sends: a resend with the same id is stored once.
    client_id = models.CharField(max_length=64, null=True, blank=True)
    delivery = models.CharField(max_length=16, choices=Delivery.choices, blank=True, default="")
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "client_id"], name="message_client_id_once"),
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_once"),
        ]
        indexes = [
            models.Index(fields=["delivery", "created_at"]),
            # A conversation's messages by time: the dashboard's first agent response after a handoff and the
            # last answer before one (oversight/selectors.py).
            models.Index(fields=["conversation", "created_at"], name="message_conversation_time"),
            # Which conversations the customer wrote in (the dashboard counts only those): read from the index
            # alone, not from the table's every message.
            models.Index(fields=["conversation"], condition=models.Q(sender="customer"), name="message_customer_wrote"),
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"

    @property
    def bot_input(self) -> str:
        """What the bot is sent for this message: the button payload if one was chosen, else the text."""
        return self.payload or self.text


REASON_CHOICES = [(r.value, r.label) for r in HandoffReason]
PRIORITY_CHOICES = [(p.value, p.value.title()) for p in Priority]


class Outcome(models.TextChoices):
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"


class Handoff(models.Model):
    """One stay of a conversation with people, from the queue to its resolution or its return to the bot.

    Opened and closed only by the conversation's transitions, so it lives with the conversation. Its table keeps
    the name it had in the `handoff` app (migrations conversations/0002, handoff/0002 moved it, state only)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    reason = models.CharField(max_length=40, choices=REASON_CHOICES)
    # Queued past its address's handoff limit (conversations/limits.py): the inbox puts it after every handoff
    # within its limit, so a flood from one address cannot push other customers' down the queue.
    over_limit = models.BooleanField(default=False)
    priority = models.CharField(max_length=16, choices=PRIORITY_CHOICES, default=Priority.NORMAL.value)
    context = models.JSONField()  # conversations.context.ContextPacket; docs/context-packet.md
    queued_at = models.DateTimeField()
    priority_changed_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    # The customer message whose bot turn asked for this handoff (or failed and so opened it); none when it was
    # opened otherwise. The managers' NLU inbox reads a handoff's reason through it.
    message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs_led_to"
    )
    # What the agent who resolved it said the customer needed (an intent of the bot's domain), and whether a
    # person was needed at all: an agent-confirmed label for the NLU inbox. Blank/None when not labelled.
    label_intent = models.CharField(max_length=100, blank=True, default="")
    label_handoff_needed = models.BooleanField(null=True, blank=True)

    class Meta:
        db_table = "handoff_handoff"
        ordering = ["queued_at", "id"]
        # queued_at: the dashboard's human side and queue read handoffs by when they were queued.
        indexes = [models.Index(fields=["queued_at"], name="handoff_queued")]
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


class AuditAction(models.TextChoices):
    OPENED = "opened"  # read the conversation: its context packet and transcript
    CLAIMED = "claimed"
    WROTE = "wrote"  # a message to the customer
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"
    REASSIGNED = "reassigned"  # given to `subject` (taken over when subject is the actor)
    EXPORTED = "exported"
    ERASED = "erased"


class AppendOnly(Exception):
    """An audit record was to be changed or deleted: the trail only grows."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly(f"{self.model._meta.verbose_name_plural} are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly(f"{self.model._meta.verbose_name_plural} are never deleted")


class AppendOnlyRecord(models.Model):
    """A record of a trail that only grows: written once, never changed or deleted through the ORM."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly(f"{self._meta.verbose_name_plural} are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly(f"{self._meta.verbose_name_plural} are never deleted")


class AuditRecord(AppendOnlyRecord):
    """Who did what to which conversation, and when; written by conversations/audit.py in the transaction of the
    action itself. Append-only: no update or delete through the ORM, read-only in the admin; its users are
    PROTECTed (deactivate a user, never delete one who has records)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # None: the portal itself (the retention job's erasures).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    # Not a foreign key: the trail outlives the conversation (an erasure is itself recorded).
    conversation_id = models.UUIDField(db_index=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_id} {self.action} {self.conversation_id}"


class TrackerErasure(models.Model):
    """A conversation erased in the portal whose tracker the bot still holds: written in the erasure's
    transaction, deleted once the bot confirms (conversations/privacy.py), so a bot that was down is asked again
    on the next run and nothing is forgotten. Holds only the conversation's id."""

    conversation_id = models.UUIDField(unique=True)
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"{self.conversation_id} ({self.attempts} attempts)"
