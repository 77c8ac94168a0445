"""Oversight's writes: new-intent discovery and a manager's decision on a topic, and the drift job's measures
with the mail of its alerts (docs/oversight.md). The bot's own
sentence encoder groups the messages, in the bot's Python (bot/governance/topics.py); a decision goes through the
NLU inbox's reviews (tuning.services.record_review), so its examples, duplicates, held-out refusals and audit are
the inbox's own."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from bot_gateway import domain
from oversight import drift
from oversight.drift import Margins
from oversight.models import DriftCheck, Measure, Topic, TopicStatus
from tuning import bot_data
from tuning.audit import governance_record
from tuning.bot_python import run_json
from tuning.models import GovernanceAction, NluRecord, TrainingExample, Verdict
from tuning.services import ReviewRefused, ReviewResult, record_review
from tuning.training_data import nlu_yaml

TOPICS_MODULE = "governance.topics"
# A new intent's name, as Rasa's domain writes intents.
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{2,62}$")

Finder = Callable[[str, dict[str, Any]], dict[str, Any]]


class TopicRefused(Exception):
    """A decision that cannot be taken, said in one line for the manager."""


def not_understood() -> QuerySet[NluRecord]:
    """The messages discovery groups: fallback, out of scope or low confidence, in the window, never reviewed."""
    since = timezone.now() - timedelta(days=settings.TOPIC_WINDOW_DAYS)
    unsure = (
        Q(intent__in=[bot_data.FALLBACK_INTENT, bot_data.OUT_OF_SCOPE_INTENT])
        | Q(confidence__lt=settings.NLU_LOW_CONFIDENCE)
    )
    return NluRecord.objects.filter(unsure, classified_at__gte=since, review__isnull=True)


def _run_finder(module: str, request: dict[str, Any]) -> dict[str, Any]:
    return run_json(module, request, timeout=settings.TOPIC_TIMEOUT_SECONDS)


def topics_discover(*, finder: Finder = _run_finder) -> list[Topic]:
    """Group the newest not-understood messages into topics, in place of the open ones (decided ones stay)."""
    records = list(not_understood().order_by("-classified_at")[: settings.TOPIC_MAX_MESSAGES])
    request = {
        "messages": [{"id": r.pk, "text": r.text} for r in records],
        "max_distance": settings.TOPIC_MAX_DISTANCE,
        "min_size": settings.TOPIC_MIN_SIZE,
    }
    found = finder(TOPICS_MODULE, request)["topics"] if records else []
    texts = {r.pk: r.text for r in records}
    with transaction.atomic():
        Topic.objects.filter(status=TopicStatus.OPEN).delete()
        topics = []
        for group in found:
            members = [pk for pk in group["members"] if pk in texts]
            if len(members) < settings.TOPIC_MIN_SIZE:
                continue
            topic = Topic.objects.create(
                exemplar_text=texts.get(group["exemplar"], texts[members[0]]),
                size=len(members),
                cohesion=group["cohesion"],
                nearest_intent=group["nearest_intent"],
                nearest_intent_similarity=group["nearest_intent_similarity"],
            )
            topic.records.set(members)
            topics.append(topic)
    return topics


def _topic(topic_id: int) -> Topic:
    """The topic, locked for a decision; refused if a newer discovery replaced it."""
    topic = Topic.objects.select_for_update().filter(pk=topic_id).first()
    if topic is None:
        raise TopicRefused("That topic is gone: a newer discovery replaced it.")
    return topic


def _open_topic(topic_id: int) -> Topic:
    topic = _topic(topic_id)
    if topic.status != TopicStatus.OPEN:
        raise TopicRefused(f"That topic was already {topic.get_status_display().lower()}.")
    return topic


def _decide(topic: Topic, *, status: TopicStatus, intent: str, actor: Any) -> None:
    topic.status, topic.intent, topic.decided_by, topic.decided_at = status, intent, actor, timezone.now()
    topic.save(update_fields=["status", "intent", "decided_by", "decided_at"])


@transaction.atomic
def topic_adopt(*, topic_id: int, intent: str, actor: Any) -> ReviewResult:
    """The topic's messages meant `intent` (one of the bot's, or out of scope): each is relabelled in the NLU
    inbox and becomes an approved example for the next retrain."""
    topic = _open_topic(topic_id)
    verdict = Verdict.OUT_OF_SCOPE if intent == bot_data.OUT_OF_SCOPE_INTENT else Verdict.RELABELLED
    try:
        result = record_review(records=topic.records.all(), verdict=verdict, intent=intent, reviewer=actor)
    except ReviewRefused as refused:
        raise TopicRefused(str(refused)) from refused
    _decide(topic, status=TopicStatus.ADOPTED, intent=intent, actor=actor)
    return result


@transaction.atomic
def topic_dismiss(*, topic_id: int, actor: Any) -> ReviewResult:
    """Nothing to learn from these messages: each is ignored in the NLU inbox, so no discovery groups it again."""
    topic = _open_topic(topic_id)
    result = record_review(records=topic.records.all(), verdict=Verdict.IGNORED, reviewer=actor)
    _decide(topic, status=TopicStatus.DISMISSED, intent="", actor=actor)
    return result


@transaction.atomic
def topic_new_intent_yaml(*, topic_id: int, intent: str, actor: Any) -> str:
    """The topic's messages as a new intent's Rasa training data, for the team to commit to bot/data with the
    intent's domain entry and answer (the repository stays the source of truth). Held-out messages are left out."""
    if not INTENT_NAME.match(intent):
        raise TopicRefused("A new intent's name is lower case letters, digits and _, starting with a letter.")
    if intent in domain.domain_intents():
        raise TopicRefused(f"“{intent}” is one of the bot's intents already: adopt the topic as it instead.")
    topic = _topic(topic_id)
    held_out = bot_data.heldout_texts()
    examples = [
        TrainingExample(text=r.text, intent=intent)
        for r in topic.records.all()
        if bot_data.normalized(r.text) not in held_out
    ]
    governance_record(
        actor=actor,
        action=GovernanceAction.EXAMPLES_EXPORTED,
        detail={"via": "topic", "topic_id": topic.pk, "intent": intent, "count": len(examples)},
    )
    return nlu_yaml(examples)


log = logging.getLogger(__name__)


@transaction.atomic
def drift_check(*, days: Sequence[date], mail: bool = True) -> list[DriftCheck]:
    """Measure each day against its trailing baseline and store the measures (a day checked again is measured
    anew); the drifted ones not mailed yet go to the managers once this commits. Returns the drifted checks."""
    stored: list[DriftCheck] = []
    for day, findings in drift.check(days, Margins.from_settings()).items():
        for found in findings:
            check, _ = DriftCheck.objects.update_or_create(
                day=day,
                measure=found.measure,
                defaults={
                    "value": found.value, "baseline": found.baseline, "low": found.low, "high": found.high,
                    "detail": found.detail, "drifted": found.drifted, "checked_at": timezone.now(),
                },
            )
            stored.append(check)
    drifted = [check for check in stored if check.drifted]
    if mail and (unmailed := [check.pk for check in drifted if check.mailed_at is None]):
        transaction.on_commit(lambda: drift_alerts_mail(check_ids=unmailed))
    return drifted


def managers() -> list[User]:
    """Active users who govern the bot, with a mail address (through a group, their own permission, or as
    superusers)."""
    govern = Permission.objects.get(codename="govern_bot", content_type__app_label="agents")
    return list(
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(groups__permissions=govern) | Q(user_permissions=govern) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


@transaction.atomic
def drift_alerts_mail(*, check_ids: Sequence[int]) -> int:
    """One mail to the managers about these drifted checks, if none was sent for them yet; how many it named."""
    checks = list(
        DriftCheck.objects.select_for_update().filter(pk__in=check_ids, drifted=True, mailed_at__isnull=True)
    )
    recipients = [user.email for user in managers()]
    if not checks or not recipients:
        return 0
    days = sorted({check.day for check in checks})
    lines = [
        f"{check.day}  {Measure(check.measure).label}{f' ({check.detail})' if check.detail else ''}: "
        f"{check.value:.3f}, expected {check.low:.3f}-{check.high:.3f}"
        for check in sorted(checks, key=lambda c: (c.day, c.measure))
    ]
    send_mail(
        subject=f"Switchboard: the bot's traffic drifted on {', '.join(map(str, days))}",
        message="\n".join(
            ["The daily drift check found these days unlike the four weeks before them:", "", *lines, "",
             f"The dashboard: {reverse('oversight:dashboard')}?range=day&day={days[-1]}"]
        ),
        from_email=None,
        recipient_list=recipients,
    )
    DriftCheck.objects.filter(pk__in=[check.pk for check in checks]).update(mailed_at=timezone.now())
    log.info("drift alert mailed to %d managers: %d checks", len(recipients), len(checks))
    return len(checks)
