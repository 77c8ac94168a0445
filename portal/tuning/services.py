"""Writes of tuning's data: each in one transaction with its governance record (tuning/audit.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from contracts.redaction import mask_personal_data
from conversations.models import Message, Sender
from tuning import bot_data, selectors, training_data
from tuning.audit import governance_record
from tuning.models import GovernanceAction, NluRecord, Review, TrainingExample, Verdict
from tuning.nlu_stream import NluReading

logger = logging.getLogger(__name__)


class ReviewRefused(Exception):
    """The review cannot be made as asked; the message says why, for the manager."""


class ExampleOutcome(StrEnum):
    """What a review did to the record's approved example."""

    ADDED = "added"  # made, or updated to the new intent
    DUPLICATE = "duplicate"  # bot/data or another approved example has the text already: not added twice
    HELD_OUT = "held_out"  # a held-out set has the text: refused as training data
    WITHDRAWN = "withdrawn"  # ignored: any example it had is no longer trained on
    NONE = "none"  # ignored, and it had none


@dataclass
class ReviewResult:
    outcomes: dict[int, ExampleOutcome] = field(default_factory=dict)  # {record id: outcome}

    def of(self, outcome: ExampleOutcome) -> list[int]:
        return [record_id for record_id, done in self.outcomes.items() if done is outcome]


@transaction.atomic
def record_review(
    *, records: Iterable[NluRecord], verdict: Verdict, intent: str = "", reviewer: Any
) -> ReviewResult:
    """One decision on each record: the latest stands. Confirmed, relabelled and out-of-scope records become
    approved examples (unless a duplicate or held out); an ignored one's example is withdrawn."""
    locked = list(
        NluRecord.objects.select_for_update().filter(pk__in=[record.pk for record in records]).order_by("pk")
    )
    if not locked:
        raise ReviewRefused("Select at least one message.")
    intents = {record.pk: _meant(record, verdict, intent) for record in locked}
    standings = selectors.text_standings({record.pk: record.text for record in locked})
    now, result, added_texts = timezone.now(), ReviewResult(), set()
    for record in locked:
        meant = intents[record.pk]
        Review.objects.update_or_create(
            record=record,
            defaults={"verdict": verdict, "intent": meant, "reviewed_by": reviewer, "reviewed_at": now},
        )
        example = TrainingExample.objects.select_for_update().filter(record=record).first()
        standing, text = standings[record.pk], bot_data.normalized(record.text)
        if verdict == Verdict.IGNORED:
            outcome = ExampleOutcome.WITHDRAWN if _withdraw(example, now) else ExampleOutcome.NONE
        elif standing.held_out or standing.duplicate or text in added_texts:
            outcome = ExampleOutcome.HELD_OUT if standing.held_out else ExampleOutcome.DUPLICATE
            _withdraw(example, now)
        else:
            example = _approve(example, record=record, intent=meant, reviewer=reviewer, now=now)
            outcome = ExampleOutcome.ADDED
            added_texts.add(text)
        result.outcomes[record.pk] = outcome
        governance_record(
            actor=reviewer,
            action=GovernanceAction.REVIEWED,
            detail={
                "record_id": record.pk,
                "verdict": verdict.value,
                "intent": meant,
                "example": outcome.value,
                "example_id": example.pk if example else None,
            },
        )
    return result


def _meant(record: NluRecord, verdict: Verdict, intent: str) -> str:
    """The intent the record meant by this verdict; refused unless it is one of the domain's."""
    if verdict == Verdict.IGNORED:
        return ""
    meant = {Verdict.CONFIRMED: record.intent, Verdict.OUT_OF_SCOPE: bot_data.OUT_OF_SCOPE_INTENT}.get(
        verdict, intent
    )
    if meant not in bot_data.domain_intents():
        if verdict == Verdict.CONFIRMED:
            raise ReviewRefused(f"“{record.intent}” is not an intent to train: relabel the message instead.")
        raise ReviewRefused(f"Choose one of the bot's intents to relabel to (not “{meant}”).")
    return meant


def _approve(
    example: TrainingExample | None, *, record: NluRecord, intent: str, reviewer: Any, now: Any
) -> TrainingExample:
    example = example or TrainingExample(record=record)
    example.text = mask_personal_data(record.text)  # stored masked already: masked again, never trusted
    example.intent, example.approved_by, example.approved_at, example.withdrawn_at = intent, reviewer, now, None
    example.save()
    return example


def _withdraw(example: TrainingExample | None, now: Any) -> bool:
    if example is None or example.withdrawn_at is not None:
        return False
    example.withdrawn_at = now
    example.save(update_fields=["withdrawn_at"])
    return True


@transaction.atomic
def training_example_withdraw(*, example_id: int, actor: Any) -> TrainingExample:
    """No longer trained on (the record's review stands). Withdrawing a withdrawn example changes nothing."""
    example = TrainingExample.objects.select_for_update().get(pk=example_id)
    if _withdraw(example, timezone.now()):
        governance_record(
            actor=actor,
            action=GovernanceAction.EXAMPLE_WITHDRAWN,
            detail={"example_id": example.pk, "intent": example.intent, "record_id": example.record_id},
        )
    return example


@transaction.atomic
def training_examples_export(*, actor: Any, via: str) -> str:
    """The approved examples as Rasa YAML (training_data.nlu_yaml), for the team to commit to bot/data."""
    examples = list(selectors.approved_examples())
    governance_record(
        actor=actor, action=GovernanceAction.EXAMPLES_EXPORTED, detail={"count": len(examples), "via": via}
    )
    return training_data.nlu_yaml(examples)


@transaction.atomic
def nlu_records_store(*, readings: Iterable[NluReading]) -> int:
    """An NluRecord for each reading the bot streamed, linked to its customer message; how many were new. A reading
    already stored (an entry read again) is not stored twice; one of a message this portal does not have (erased
    with its conversation, or of another deployment on a shared Redis) is skipped."""
    readings = list(readings)
    messages = dict(
        Message.objects.filter(pk__in=[r.message_id for r in readings], sender=Sender.CUSTOMER).values_list(
            "pk", "conversation_id"
        )
    )
    now = timezone.now()
    records = [
        NluRecord(
            message_id=reading.message_id,
            text=mask_personal_data(reading.text),  # masked by the bot's channel already: never trusted
            intent=reading.intent[:100],
            confidence=reading.confidence,
            ranking=[ranked.model_dump() for ranked in reading.ranking],
            entities=[entity.model_dump() for entity in reading.entities],
            model_id=reading.model_id,
            classified_at=reading.classified_at or now,
        )
        for reading in readings
        if messages.get(reading.message_id) == reading.conversation_id
    ]
    if skipped := len(readings) - len(records):
        logger.info("%d NLU readings skipped: their messages are not this portal's (erased, or another's)", skipped)
    before = NluRecord.objects.filter(message_id__in=[r.message_id for r in records]).count()
    NluRecord.objects.bulk_create(records, ignore_conflicts=True)
    return NluRecord.objects.filter(message_id__in=[r.message_id for r in records]).count() - before
