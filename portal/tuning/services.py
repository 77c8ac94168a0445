"""Writes of tuning's data: each in one transaction with its governance record (tuning/audit.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from bot_gateway import domain
from contracts.redaction import mask_personal_data
from conversations.models import Message, Sender
from tuning import bot_data, events, selectors, training_data
from tuning.audit import governance_record
from tuning.gate import gate_check
from tuning.models import (
    GovernanceAction,
    ModelVersion,
    NluRecord,
    Review,
    Training,
    TrainingExample,
    TrainingStatus,
    Verdict,
)
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
    if meant not in domain.domain_intents():
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


# --- trainings -----------------------------------------------------------------------------------------------


class TrainingRefused(Exception):
    """A training cannot be asked for now; the message says why, for the manager."""


ONE_AT_A_TIME = "One training at a time: training #{id} is {status}. Wait for it to finish, then retrain."


@transaction.atomic
def training_request(*, by: Any) -> Training:
    """Queue a retrain on bot/data plus the approved examples (tasks.train_candidate runs it once committed);
    refused while another is queued or running."""
    active = selectors.active_training()
    if active is not None:
        raise TrainingRefused(ONE_AT_A_TIME.format(id=active.pk, status=active.status))
    try:
        with transaction.atomic():  # a savepoint: the constraint's refusal leaves this transaction usable
            training = Training.objects.create(requested_by=by)
    except IntegrityError:  # another request committed in between: the constraint one_training_at_a_time
        active = selectors.active_training()
        raise TrainingRefused(
            ONE_AT_A_TIME.format(id=active.pk if active else "?", status=active.status if active else "queued")
        ) from None
    governance_record(actor=by, action=GovernanceAction.TRAINING_REQUESTED, detail={"training_id": training.pk})
    events.training_updated(training)
    transaction.on_commit(lambda: _queue_training(training.pk))
    return training


def _queue_training(training_id: int) -> None:
    from tuning.tasks import train_candidate  # tasks imports this module

    train_candidate.delay(training_id)


@dataclass(frozen=True)
class TrainingStart:
    training: Training
    examples: list[dict[str, str]]  # [{"text", "intent"}]: what this training adds to bot/data
    examples_yaml: str  # the same, as the Rasa YAML the bot's Python reads


@transaction.atomic
def training_start(*, training_id: int) -> TrainingStart | None:
    """Mark a queued training running, with the approved examples as they are now. None if there is nothing to
    run: finished already, or running since a worker that has died (the task was delivered again): failed."""
    training = Training.objects.select_for_update().get(pk=training_id)
    if training.status == TrainingStatus.RUNNING:
        _finish_failed(training, "the worker running it stopped before it finished", training.log_tail)
        return None
    if training.status != TrainingStatus.QUEUED:
        return None
    approved = list(selectors.approved_examples())
    training.status, training.stage, training.progress = TrainingStatus.RUNNING, "data_check", 0.0
    training.started_at = timezone.now()
    training.save(update_fields=["status", "stage", "progress", "started_at"])
    events.training_updated(training)
    return TrainingStart(
        training=training,
        examples=[{"text": example.text, "intent": example.intent} for example in approved],
        examples_yaml=training_data.nlu_yaml(approved),
    )


@transaction.atomic
def training_progress(*, training_id: int, stage: str, progress: float) -> None:
    """A step of a running training; a training no longer running (the sweep failed it) is left alone."""
    training = Training.objects.select_for_update().get(pk=training_id)
    if training.status != TrainingStatus.RUNNING:
        return
    training.stage, training.progress = stage, max(training.progress, min(max(progress, 0.0), 1.0))
    training.save(update_fields=["stage", "progress"])
    events.training_updated(training)


@transaction.atomic
def training_succeed(
    *,
    training_id: int,
    name: str,
    path: str,
    examples: list[dict[str, str]],
    data_digest: str,
    evaluation: dict[str, Any],
) -> ModelVersion | None:
    """The candidate it made, kept as a model version with its evaluation and its gate against the model in
    production now. None if the training was failed meanwhile (by the sweep): its candidate is not kept."""
    training = Training.objects.select_for_update().get(pk=training_id)
    if training.status != TrainingStatus.RUNNING:
        return None
    production = selectors.in_production()
    gate = gate_check(evaluation, production.evaluation if production else None)
    version = ModelVersion.objects.create(
        name=name,
        path=path,
        training=training,
        data_digest=data_digest,
        examples=examples,
        evaluation=evaluation,
        gate=dict(gate),
    )
    training.status, training.stage, training.progress = TrainingStatus.SUCCEEDED, "", 1.0
    training.finished_at = timezone.now()
    training.save(update_fields=["status", "stage", "progress", "finished_at"])
    governance_record(
        actor=None,
        action=GovernanceAction.TRAINING_FINISHED,
        detail={
            "training_id": training.pk,
            "status": training.status,
            "model_version_id": version.pk,
            "gate_passed": gate["passed"],
            "compared_with": production.pk if production else None,
        },
    )
    events.training_updated(training)
    return version


@transaction.atomic
def training_fail(*, training_id: int, error: str, log_tail: str = "") -> Training:
    """Failed, saying why; production is untouched. A training already finished stays as it was."""
    training = Training.objects.select_for_update().get(pk=training_id)
    if training.status in selectors.ACTIVE_TRAINING:
        _finish_failed(training, error, log_tail)
    return training


def _finish_failed(training: Training, error: str, log_tail: str) -> None:
    training.status, training.error, training.log_tail = TrainingStatus.FAILED, error, log_tail
    training.finished_at = timezone.now()
    training.save(update_fields=["status", "error", "log_tail", "finished_at"])
    governance_record(
        actor=None,
        action=GovernanceAction.TRAINING_FINISHED,
        detail={"training_id": training.pk, "status": training.status, "error": error},
    )
    events.training_updated(training)


def trainings_fail_stale() -> list[int]:
    """Fail the trainings a dead worker left: running (or never started) past the time limit. Their ids."""
    limit = settings.TRAINING_TIME_LIMIT_SECONDS
    cutoff = timezone.now() - timedelta(seconds=limit)
    stale = Training.objects.filter(status__in=selectors.ACTIVE_TRAINING).filter(
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, requested_at__lt=cutoff)
    )
    failed = []
    for training_id in stale.values_list("pk", flat=True):
        training = training_fail(
            training_id=training_id,
            error=f"still not finished {limit} s after it began, its time limit: its worker stopped or was killed",
        )
        failed.append(training.pk)
    return failed
