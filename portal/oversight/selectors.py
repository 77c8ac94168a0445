"""The managers' dashboard, read from the database: containment and handoff reasons, the human side of handoffs,
and the bot's record per intent (docs/oversight.md defines each figure). Every figure is an aggregate computed by
the database over a period [start, end), in UTC."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone as dt_timezone

from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate, TruncHour

from conversations.models import Conversation, Handoff, Message, Sender
from contracts.handoff import HandoffReason
from tuning.bot_data import FALLBACK_INTENT, OUT_OF_SCOPE_INTENT, fallback_thresholds, handoff_topics
from oversight.models import Topic
from tuning.models import NluRecord

from .models import DriftCheck

from .aggregates import Seconds, distribution

QUANTILES = (0.5, 0.9)
# Turns that answer no question (small talk, a refusal, a fallback): never counted as the bot's answer that a
# customer's later request for a person proves wrong.
NOT_AN_ANSWER = frozenset(
    {"greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny", "inform"}
    | {OUT_OF_SCOPE_INTENT, FALLBACK_INTENT}
)
# Handoffs the bot raised itself on the topic: the agent's topic label on them is the bot being right.
BOT_TOPIC_ESCALATIONS = (HandoffReason.SENSITIVE_TOPIC.value, HandoffReason.SAFETY_SCREEN.value)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @classmethod
    def days(cls, first: date, count: int = 1) -> Period:
        start = datetime(first.year, first.month, first.day, tzinfo=dt_timezone.utc)
        return cls(start, start + timedelta(days=count))

    @property
    def day_count(self) -> int:
        return max(1, round((self.end - self.start) / timedelta(days=1)))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- containment -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Containment:
    conversations: int  # started in the period, with at least one customer message
    contained: int  # of which the bot finished without a person (no handoff at all)

    @property
    def rate(self) -> float | None:
        return _ratio(self.contained, self.conversations)

    @property
    def handoff_rate(self) -> float | None:
        return _ratio(self.conversations - self.contained, self.conversations)


def _conversations(period: Period) -> QuerySet[Conversation]:
    customer_wrote = Message.objects.filter(conversation=OuterRef("pk"), sender=Sender.CUSTOMER)
    return Conversation.objects.filter(
        Exists(customer_wrote), created_at__gte=period.start, created_at__lt=period.end
    ).annotate(handed_off=Exists(Handoff.objects.filter(conversation=OuterRef("pk"))))


def containment(period: Period) -> Containment:
    found = _conversations(period).aggregate(
        conversations=Count("pk"), contained=Count("pk", filter=Q(handed_off=False))
    )
    return Containment(found["conversations"], found["contained"])


@dataclass(frozen=True)
class DayContainment:
    day: date
    containment: Containment


def containment_by_day(period: Period) -> list[DayContainment]:
    """Each day of the period, days without conversations included (as zero)."""
    rows = (
        _conversations(period)
        .annotate(day=TruncDate("created_at", tzinfo=dt_timezone.utc))
        .values("day")
        .annotate(conversations=Count("pk"), contained=Count("pk", filter=Q(handed_off=False)))
    )
    by_day = {row["day"]: Containment(row["conversations"], row["contained"]) for row in rows}
    first = period.start.date()
    return [
        DayContainment(day, by_day.get(day, Containment(0, 0)))
        for day in (first + timedelta(days=n) for n in range(period.day_count))
    ]


@dataclass(frozen=True)
class ReasonShare:
    reason: str
    label: str
    conversations: int  # conversations of the period handed off at least once for this reason
    rate: float | None  # of all the period's conversations


def handoff_reasons(period: Period, *, conversations: int | None = None) -> list[ReasonShare]:
    """Handoff rate by reason code, most frequent first; `conversations`: the period's, when already counted."""
    total = containment(period).conversations if conversations is None else conversations
    rows = (
        Handoff.objects.filter(
            conversation__created_at__gte=period.start, conversation__created_at__lt=period.end
        )
        .values("reason")
        .annotate(conversations=Count("conversation", distinct=True))
        .order_by("-conversations", "reason")
    )
    return [
        ReasonShare(
            row["reason"], HandoffReason(row["reason"]).label, row["conversations"], _ratio(row["conversations"], total)
        )
        for row in rows
    ]


# --- the human side ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    count: int
    p50: float | None  # seconds
    p90: float | None


@dataclass(frozen=True)
class HumanSide:
    time_to_claim: Durations  # queued → claimed
    time_to_first_response: Durations  # queued → the first agent message
    resolution_time: Durations  # queued → resolved (handed back excluded)


def _durations(rows: QuerySet[Handoff], seconds: Seconds) -> Durations:
    count, (p50, p90) = distribution(rows, seconds, QUANTILES)
    return Durations(count, p50, p90)


def human_side(period: Period) -> HumanSide:
    """Over the handoffs queued in the period."""
    queued = Handoff.objects.filter(queued_at__gte=period.start, queued_at__lt=period.end)
    first_agent_message = Subquery(
        Message.objects.filter(
            conversation=OuterRef("conversation"), sender=Sender.AGENT, created_at__gte=OuterRef("queued_at")
        )
        .values("conversation")
        .annotate(first=Min("created_at"))
        .values("first")[:1]
    )
    return HumanSide(
        time_to_claim=_durations(queued, Seconds(F("claimed_at"), F("queued_at"))),
        time_to_first_response=_durations(
            queued.filter(claimed_at__isnull=False), Seconds(first_agent_message, F("queued_at"))
        ),
        resolution_time=_durations(queued.filter(outcome="resolved"), Seconds(F("closed_at"), F("queued_at"))),
    )


@dataclass(frozen=True)
class QueueHour:
    hour: int  # 0..23, UTC
    mean: float  # handoffs waiting at the top of this hour, averaged over the period's days
    most: int


def queue_by_hour(period: Period) -> list[QueueHour]:
    """How many handoffs wait for a person at the top of each hour of the day. The queue changes only when a
    handoff enters it or leaves it (claimed, or closed unclaimed), so two grouped counts and a running sum give
    every hour's length, however many handoffs there are."""
    left_at = Coalesce("claimed_at", "closed_at")
    handoffs = Handoff.objects.annotate(left_at=left_at)
    waiting = handoffs.filter(queued_at__lt=period.start).filter(
        Q(left_at__isnull=True) | Q(left_at__gte=period.start)
    ).count()
    change: dict[datetime, int] = defaultdict(int)
    entered = (
        handoffs.filter(queued_at__gte=period.start, queued_at__lt=period.end)
        .annotate(at=TruncHour("queued_at", tzinfo=dt_timezone.utc))
        .values("at")
        .annotate(n=Count("pk"))
    )
    left = (
        handoffs.filter(left_at__gte=period.start, left_at__lt=period.end)
        .annotate(at=TruncHour("left_at", tzinfo=dt_timezone.utc))
        .values("at")
        .annotate(n=Count("pk"))
    )
    for row in entered:
        change[row["at"]] += row["n"]
    for row in left:
        change[row["at"]] -= row["n"]
    totals, most = [0] * 24, [0] * 24
    top = period.start
    while top < period.end:
        totals[top.hour] += waiting
        most[top.hour] = max(most[top.hour], waiting)
        waiting += change.get(top, 0)  # what entered and left during this hour counts from the next one
        top += timedelta(hours=1)
    return [QueueHour(hour, totals[hour] / period.day_count, most[hour]) for hour in range(24)]


# --- per intent --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentRecord:
    intent: str
    volume: int  # customer messages the bot classified so
    answered: int  # of which the bot answered itself (no handoff came of it)
    handed_off: int  # of which led to a handoff
    unneeded_handoffs: int  # of those, the resolving agent said no person was needed
    missed_escalations: int  # answered, but a person was needed after all (see missed_escalations)


def missed_escalations(period: Period) -> dict[str, int]:
    """{intent: count} of the bot's answers that should have been a handoff: a handoff queued in the period
    that the customer asked for (explicit request), or that an agent labelled with a must-escalate topic when
    the bot had not escalated on that topic itself, counts against the last customer message of the
    conversation before it that the bot answered (small talk and fallbacks are not answers)."""
    last_answer = (
        NluRecord.objects.filter(
            message__conversation=OuterRef("conversation"),
            message__sender=Sender.CUSTOMER,
            message__created_at__lt=OuterRef("queued_at"),
        )
        .exclude(intent__in=NOT_AN_ANSWER)
        .filter(~Exists(Handoff.objects.filter(message=OuterRef("message"))))
        .order_by("-message__created_at", "-message__seq")
        .values("intent")[:1]
    )
    needed = Q(reason=HandoffReason.EXPLICIT_REQUEST.value) | (
        Q(label_intent__in=handoff_topics()) & ~Q(reason__in=BOT_TOPIC_ESCALATIONS)
    )
    rows = (
        Handoff.objects.filter(needed, queued_at__gte=period.start, queued_at__lt=period.end)
        .annotate(answered_intent=Subquery(last_answer))
        .values("answered_intent")
        .annotate(n=Count("pk"))
    )
    # Those with no answer before them group under None (not filtered in SQL: that would run the subquery twice).
    return {row["answered_intent"]: row["n"] for row in rows if row["answered_intent"] is not None}


def intents(period: Period) -> list[IntentRecord]:
    """Every intent the bot classified customer messages of the period as, by volume. Whether a message led to
    a handoff is looked up in the set of messages that did (one hashed list of a few per cent of the messages),
    not probed message by message."""
    led = Handoff.objects.filter(message__isnull=False)
    rows = (
        NluRecord.objects.filter(classified_at__gte=period.start, classified_at__lt=period.end)
        .values("intent")
        .annotate(
            volume=Count("pk"),
            handed=Count("pk", filter=Q(message_id__in=led.values("message_id"))),
            unneeded_n=Count("pk", filter=Q(message_id__in=led.filter(label_handoff_needed=False).values("message_id"))),
        )
        .order_by("-volume", "intent")
    )
    missed = missed_escalations(period)
    found = [
        IntentRecord(
            intent=row["intent"],
            volume=row["volume"],
            answered=row["volume"] - row["handed"],
            handed_off=row["handed"],
            unneeded_handoffs=row["unneeded_n"],
            missed_escalations=missed.pop(row["intent"], 0),
        )
        for row in rows
    ]
    # An answer before the period whose handoff fell in it: its intent is listed though none was classified.
    found += [IntentRecord(intent, 0, 0, 0, 0, n) for intent, n in sorted(missed.items())]
    return found


# --- the whole page ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    period: Period
    containment: Containment
    by_day: list[DayContainment]
    reasons: list[ReasonShare]
    human_side: HumanSide
    queue: list[QueueHour]
    intents: list[IntentRecord]
    drift: list[DriftCheck]  # what the daily drift job measured on the period's days

    @property
    def drift_alerts(self) -> list[DriftCheck]:
        return [check for check in self.drift if check.drifted]


def drift_checks(period: Period) -> list[DriftCheck]:
    """The drift job's measures of the period's days, by day."""
    return list(DriftCheck.objects.filter(day__gte=period.start.date(), day__lt=period.end.date()))


def dashboard(period: Period) -> Dashboard:
    """Every figure of the managers' dashboard over the period; the period's containment is the sum of its days'."""
    by_day = containment_by_day(period)
    total = Containment(
        sum(d.containment.conversations for d in by_day), sum(d.containment.contained for d in by_day)
    )
    return Dashboard(
        period=period,
        containment=total,
        by_day=by_day,
        reasons=handoff_reasons(period, conversations=total.conversations),
        human_side=human_side(period),
        queue=queue_by_hour(period),
        intents=intents(period),
        drift=drift_checks(period),
    )


# --- new-intent discovery -------------------------------------------------------------------------------------

TREND_WEEKS = 4
TOPIC_EXAMPLES_SHOWN = 5


@dataclass(frozen=True)
class TopicView:
    topic: Topic
    examples: list[str]  # a few of its messages, the exemplar first
    trend: list[int]  # its messages in each of the last TREND_WEEKS weeks, oldest first


def topics_listing(*, now: datetime, status: str) -> list[TopicView]:
    """The topics of one status, biggest first, each with a few examples and its weekly trend."""
    topics = list(Topic.objects.filter(status=status).order_by("-size", "-id")[:50])
    members = (
        Topic.records.through.objects.filter(topic__in=topics)
        .values_list("topic_id", "nlurecord__text", "nlurecord__classified_at")
        .order_by("topic_id", "-nlurecord__classified_at")
    )
    texts: dict[int, list[str]] = defaultdict(list)
    trends: dict[int, list[int]] = defaultdict(lambda: [0] * TREND_WEEKS)
    for topic_id, text, at in members:
        texts[topic_id].append(text)
        weeks_ago = (now - at).days // 7
        if 0 <= weeks_ago < TREND_WEEKS:
            trends[topic_id][TREND_WEEKS - 1 - weeks_ago] += 1
    return [
        TopicView(
            topic=t,
            examples=[t.exemplar_text, *[x for x in texts[t.pk] if x != t.exemplar_text]][:TOPIC_EXAMPLES_SHOWN],
            trend=trends[t.pk],
        )
        for t in topics
    ]


# --- threshold replay --------------------------------------------------------------------------------------

REPLAY_STEP = 0.05


@dataclass(frozen=True)
class ReplayPoint:
    threshold: float  # the global fallback threshold replayed (the intents' own thresholds kept)
    answered: int  # the bot would answer (its top intent at or above its threshold, and not a handoff topic)
    wrong: int  # … with an intent other than the label


@dataclass(frozen=True)
class Replay:
    labelled: int  # readings of the period whose meaning a person confirmed
    today: float  # the global threshold in bot/config.yml
    points: list[ReplayPoint]

    def containment(self, point: ReplayPoint) -> float | None:
        return _ratio(point.answered, self.labelled)

    def wrong_rate(self, point: ReplayPoint) -> float | None:
        return _ratio(point.wrong, self.labelled)


def labelled_readings(period: Period) -> list[tuple[str, float, str]]:
    """(the classifier's top intent, its confidence, what a person said it meant) for the period's readings a
    person labelled: a manager's review (confirmed, relabelled, out of scope) or else the label of the agent
    who resolved the handoff it led to."""
    agent_label = Subquery(
        Handoff.objects.filter(message=OuterRef("message"))
        .exclude(label_intent="")
        .order_by("-queued_at", "-id")
        .values("label_intent")[:1]
    )
    rows = (
        NluRecord.objects.filter(classified_at__gte=period.start, classified_at__lt=period.end)
        .annotate(agent_label=agent_label)
        .filter(Q(review__verdict__in=("confirmed", "relabelled", "out_of_scope")) | Q(agent_label__isnull=False))
        .values_list("intent", "confidence", "ranking", "review__verdict", "review__intent", "agent_label")
    )
    found = []
    for intent, confidence, ranking, verdict, reviewed_as, agent_said in rows:
        # Below its threshold the record says nlu_fallback: the ranking keeps what the classifier read.
        top, score = (ranking[0]["name"], float(ranking[0]["confidence"])) if ranking else (intent, confidence)
        label = {"confirmed": top, "relabelled": reviewed_as, "out_of_scope": OUT_OF_SCOPE_INTENT}.get(
            verdict or "", agent_said
        )
        found.append((str(top), score, str(label)))
    return found


def threshold_replay(period: Period, step: float = REPLAY_STEP) -> Replay:
    """What if the fallback threshold were X: over the period's labelled readings, how many the bot would answer
    and how many of those wrongly, for X from 0 to 1 by `step` and at today's threshold. An intent with a
    threshold of its own (bot/triage/intent_thresholds.yml) keeps it; a handoff topic read at or above its
    threshold goes to a person (no answer, right or wrong)."""
    today, own = fallback_thresholds()
    readings = labelled_readings(period)
    topics = handoff_topics()
    grid = sorted({round(n * step, 4) for n in range(round(1 / step) + 1)} | {today})
    points = []
    for threshold in grid:
        answered = [
            (top, label) for top, score, label in readings if score >= own.get(top, threshold) and top not in topics
        ]
        points.append(ReplayPoint(threshold, len(answered), sum(1 for top, label in answered if top != label)))
    return Replay(len(readings), today, points)
