"""Reads of tuning's data."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db.models import Case, CharField, F, OuterRef, QuerySet, Subquery, Value, When

from conversations.models import Handoff
from tuning import bot_data, gate
from tuning.models import (
    Deployment,
    DeploymentAction,
    ModelVersion,
    NluRecord,
    Training,
    TrainingExample,
    TrainingStatus,
)

INBOX_PAGE_SIZE = 50


class Followed(StrEnum):
    """What followed a classified message: the bot answered, fell back (did not understand), or a person took
    over (the handoff that message's turn opened, `Handoff.message`)."""

    ANSWERED = "answered"
    FALLBACK = "fallback"
    HANDOFF = "handoff"


class AgentLabel(StrEnum):
    LABELLED = "labelled"  # the agent who resolved its handoff said what it meant
    CORRECTED = "corrected"  # … and it was not what the bot read


@dataclass(frozen=True)
class InboxFilters:
    low_confidence: bool = False
    followed: Followed | None = None
    agent_label: AgentLabel | None = None
    intent: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None  # inclusive
    search: str = ""


def with_what_followed(records: QuerySet[NluRecord]) -> QuerySet[NluRecord]:
    """Each record annotated with `handoff_reason` (None: no handoff), `agent_label` (the resolving agent's intent,
    "" if none) and `followed` (a Followed). Other readers of NLU records reuse this, so "what followed" is
    derived in one place."""
    handoffs = Handoff.objects.filter(message=OuterRef("message")).order_by("-queued_at", "-id")
    return records.annotate(
        handoff_reason=Subquery(handoffs.values("reason")[:1]),
        agent_label=Subquery(handoffs.exclude(label_intent="").values("label_intent")[:1]),
        followed=Case(
            When(handoff_reason__isnull=False, then=Value(Followed.HANDOFF.value)),
            When(intent=bot_data.FALLBACK_INTENT, then=Value(Followed.FALLBACK.value)),
            default=Value(Followed.ANSWERED.value),
            output_field=CharField(),
        ),
    )


def inbox_records(filters: InboxFilters) -> QuerySet[NluRecord]:
    """The NLU inbox: every classified customer message, newest first, with what followed, its review and the
    example it made."""
    records = with_what_followed(NluRecord.objects.select_related("review", "training_example"))
    if filters.low_confidence:
        records = records.filter(confidence__lt=settings.NLU_LOW_CONFIDENCE)
    if filters.followed is not None:
        # Annotations of with_what_followed, which the type checker cannot see through.
        records = records.filter(**{"followed": filters.followed.value})
    if filters.agent_label is not None:
        records = records.exclude(**{"agent_label__isnull": True})
        if filters.agent_label is AgentLabel.CORRECTED:
            records = records.exclude(**{"agent_label": F("intent")})
    if filters.intent:
        records = records.filter(intent=filters.intent)
    if filters.since is not None:
        records = records.filter(classified_at__date__gte=filters.since)
    if filters.until is not None:
        records = records.filter(classified_at__date__lte=filters.until)
    if filters.search.strip():
        records = records.filter(text__icontains=filters.search.strip())
    return records.order_by("-classified_at", "-id")


def inbox_intents() -> list[str]:
    """The intents records were classified as, to filter by."""
    return list(NluRecord.objects.order_by("intent").values_list("intent", flat=True).distinct())


def approved_examples() -> QuerySet[TrainingExample]:
    """The examples the next training adds to bot/data: approved and not withdrawn."""
    return TrainingExample.objects.filter(withdrawn_at__isnull=True).order_by("intent", "id")


@dataclass(frozen=True)
class TextStanding:
    """Where a text already stands as training data."""

    committed_intent: str | None  # the intent bot/data/nlu already has it under
    approved_intent: str | None  # the intent another approved example has it under
    held_out: bool  # in a held-out set: never to be trained on

    @property
    def duplicate(self) -> bool:
        return self.committed_intent is not None or self.approved_intent is not None


def text_standings(texts: dict[int, str]) -> dict[int, TextStanding]:
    """{record id: standing} of each record's text. The approved example made from that record itself is not its
    duplicate."""
    committed, held_out = bot_data.committed_examples(), bot_data.heldout_texts()
    wanted = {bot_data.normalized(text) for text in texts.values()}
    approved: dict[str, list[tuple[int | None, str]]] = {}
    for record_id, text, intent in approved_examples().values_list("record_id", "text", "intent"):
        if (norm := bot_data.normalized(text)) in wanted:
            approved.setdefault(norm, []).append((record_id, intent))
    standings = {}
    for own_id, text in texts.items():
        norm = bot_data.normalized(text)
        others = [intent for record_id, intent in approved.get(norm, []) if record_id != own_id]
        standings[own_id] = TextStanding(
            committed_intent=committed.get(norm),
            approved_intent=others[0] if others else None,
            held_out=norm in held_out,
        )
    return standings


def committed_intents(texts: list[str]) -> list[str | None]:
    """The intent bot/data/nlu has each text under (None: not there): an approved example committed since."""
    committed = bot_data.committed_examples()
    return [committed.get(bot_data.normalized(text)) for text in texts]


# --- models in production ---------------------------------------------------------------------------------------


def in_production() -> ModelVersion | None:
    """The version the bot runs now: the one the latest deployment (or rollback) put in."""
    latest = Deployment.objects.select_related("model_version").order_by("-deployed_at", "-id").first()
    return latest.model_version if latest else None


def production_line() -> list[ModelVersion]:
    """The versions a rollback goes back through, oldest first, the last in production now: each deploy adds
    one, each rollback takes the last away (so two rollbacks from A, B, C reach A, not C again)."""
    line: list[int] = []
    for version_id, action in Deployment.objects.order_by("deployed_at", "id").values_list(
        "model_version_id", "action"
    ):
        if action == DeploymentAction.ROLLED_BACK and line:
            line.pop()
        if not line or line[-1] != version_id:
            line.append(version_id)
    versions = ModelVersion.objects.in_bulk(line)
    return [versions[version_id] for version_id in line]


def model_versions() -> QuerySet[ModelVersion]:
    """Every version kept, newest first, with its training and deployments."""
    return (
        ModelVersion.objects.select_related("training__requested_by")
        .prefetch_related("deployments__deployed_by")
        .order_by("-created_at", "-id")
    )


def deployments() -> QuerySet[Deployment]:
    """What production ran, newest first: who put each version in, why and when."""
    return Deployment.objects.select_related("model_version", "deployed_by").order_by("-deployed_at", "-id")


def deploy_gate(version: ModelVersion, production: ModelVersion | None) -> gate.GateResult:
    """The gate `version` must pass to be deployed, against what is in production now (not when it was
    trained: production may have changed since)."""
    if version.evaluation is None:
        unevaluated: gate.GateCheck = {"name": "evaluated", "passed": False, "detail": "this version has no evaluation"}
        return {"passed": False, "checks": [unevaluated]}
    return gate.gate_check(version.evaluation, production.evaluation if production else None)


# --- trainings and model versions ----------------------------------------------------------------------------

ACTIVE_TRAINING = (TrainingStatus.QUEUED, TrainingStatus.RUNNING)
TRAININGS_SHOWN = 20


def active_training() -> Training | None:
    """The training queued or running, if any (one at a time)."""
    return Training.objects.filter(status__in=ACTIVE_TRAINING).first()


def latest_training() -> Training | None:
    return Training.objects.first()


def recent_trainings() -> QuerySet[Training]:
    """The latest trainings, newest first, with who asked and the version each made."""
    return Training.objects.select_related("requested_by", "model_version")[:TRAININGS_SHOWN]
