"""A synthetic history of the bot's traffic, for the dashboard's benchmark, its browser test and the drift job's
tests: conversations, messages, the bot's NLU readings, handoffs with their reasons, claims and resolutions by a
few agents with their labels, with drift injected on known days (DRIFTS). `manage.py generate_traffic_history`
writes it; docs/oversight.md describes it.

Deterministic: every day draws from its own generator seeded by (seed, day), so a history is the same however
it is written. Written with bulk inserts, a week per transaction; the timestamps are the history's own (the
models' `auto_now_add` is set aside while it writes, see `_timestamps_as_given`).
"""

from __future__ import annotations

import math
import random
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone as dt_timezone

from django.contrib.auth.models import User
from django.db import connection, transaction

from agents.roles import Role
from agents.services import user_set_up
from contracts.handoff import HandoffReason, Priority
from conversations.models import Conversation, ConversationStatus, Delivery, Handoff, Message, Outcome, Sender
from tuning.bot_data import FALLBACK_INTENT, OUT_OF_SCOPE_INTENT, committed_examples
from tuning.models import NluRecord, Review, Verdict

# The mark of a generated conversation (in `client_key`, which a real one fills with a hash of its address): the
# command refuses a database holding any other conversation unless told.
SYNTHETIC_KEY = "synthetic-history"
AGENTS = ("sim.ana", "sim.ben", "sim.chloe", "sim.dev", "sim.eli")
REVIEWER = "sim.manager"
REVIEWED_SHARE = 0.03  # of the readings, reviewed in the NLU inbox the day after (the replay's labels beside the agents')
FALLBACK_THRESHOLD = 0.3  # bot/config.yml's: below it the reading is nlu_fallback
MODEL_ID = "synthetic-model"

# The routine questions and how often customers ask them (relative weights).
ROUTINE = {
    "card_delivery": 9, "card_activation": 6, "pin": 5, "pin_locked": 4, "transfer_limits": 6,
    "transfer_timing": 6, "foreign_fees_exchange_rates": 5, "atm_fees": 3, "statements": 5,
    "change_personal_details": 4, "direct_debits_standing_orders": 4, "top_up": 3, "savings_rates": 4,
    "open_account": 4, "contactless_problem": 3, "card_declined": 5, "mobile_wallet": 3, "bank_details": 4,
    "opening_hours": 6,
}
# The topics the bank always hands to a person (bot/actions/bank_policy.yml): reason and priority.
TOPICS = {
    "report_fraud": (HandoffReason.SENSITIVE_TOPIC, Priority.URGENT, 1.6),
    "dispute_charge": (HandoffReason.SENSITIVE_TOPIC, Priority.HIGH, 1.4),
    "atm_not_dispensed": (HandoffReason.SENSITIVE_TOPIC, Priority.HIGH, 0.6),
    "complaint": (HandoffReason.SENSITIVE_TOPIC, Priority.NORMAL, 1.0),
    "bereavement": (HandoffReason.SENSITIVE_TOPIC, Priority.HIGH, 0.2),
    "financial_hardship": (HandoffReason.SENSITIVE_TOPIC, Priority.HIGH, 0.5),
    "account_blocked": (HandoffReason.SENSITIVE_TOPIC, Priority.HIGH, 0.8),
    "request_human": (HandoffReason.EXPLICIT_REQUEST, Priority.NORMAL, 3.0),
    "express_frustration": (HandoffReason.FRUSTRATION, Priority.HIGH, 0.7),
}
OTHER = {"lost_or_stolen_card": 3.0, OUT_OF_SCOPE_INTENT: 3.0, "unclear": 2.5}  # unclear: nothing the bot knows
# Conversations started per hour of the day (UTC), relative.
HOURS = (1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 3, 6, 9, 10, 10, 9, 9, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2)
# When agents work (UTC hours [from, to)): weekdays, weekends.
STAFFED = ((7, 20), (9, 17))
# Mean wait for a claim by priority (seconds) when agents are in.
CLAIM_WAIT = {Priority.URGENT: 45, Priority.HIGH: 90, Priority.NORMAL: 200, Priority.LOW: 300}


@dataclass(frozen=True)
class Drift:
    day: int  # days after the first day of the history
    kind: str
    description: str


DRIFTS: tuple[Drift, ...] = (
    Drift(75, "intent_surge", "card_declined six times its share of messages (a card processor's outage)"),
    Drift(160, "confidence_drop", "every confidence 0.3 lower (customers word things anew after a product launch)"),
    Drift(245, "bot_outage", "the bot down 09:00-15:00 UTC: every conversation then goes to a person (bot_unavailable)"),
    Drift(320, "unknown_topic", "a new product the bot was never trained on: a third more conversations, not understood"),
)


@dataclass(frozen=True)
class Plan:
    first: date
    days: int
    per_day: int  # conversations on an ordinary weekday
    seed: int
    drifts: tuple[Drift, ...] = DRIFTS

    @property
    def end(self) -> datetime:
        return _midnight(self.first) + timedelta(days=self.days)

    def drift_on(self, day: int) -> Drift | None:
        return next((drift for drift in self.drifts if drift.day == day), None)

    def drift_dates(self) -> list[tuple[date, Drift]]:
        return [(self.first + timedelta(days=d.day), d) for d in self.drifts if 0 <= d.day < self.days]


@dataclass
class Written:
    conversations: int = 0
    messages: int = 0
    nlu_records: int = 0
    handoffs: int = 0

    def add(self, other: Written) -> None:
        self.conversations += other.conversations
        self.messages += other.messages
        self.nlu_records += other.nlu_records
        self.handoffs += other.handoffs


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=dt_timezone.utc)


def synthetic_conversations() -> int:
    return Conversation.objects.filter(client_key=SYNTHETIC_KEY).count()


def other_conversations() -> int:
    return Conversation.objects.exclude(client_key=SYNTHETIC_KEY).count()


def generate(plan: Plan, progress: Callable[[date, Written], None] | None = None) -> Written:
    """Write the plan's history; returns what it wrote."""
    agents = _agents()
    reviewer = _user(REVIEWER, Role.MANAGER)
    texts = _texts()
    now = datetime.now(dt_timezone.utc)
    total = Written()
    with _timestamps_as_given():
        for week in range(0, plan.days, 7):
            with transaction.atomic():
                for day in range(week, min(week + 7, plan.days)):
                    builder = _Day(plan, day, agents, reviewer, texts, now)
                    written = builder.write()
                    total.add(written)
                    if progress:
                        progress(plan.first + timedelta(days=day), written)
    if connection.vendor == "postgresql":
        # The planner's statistics still describe the tables before the bulk insert: refreshed, or it would
        # pick plans for empty tables. VACUUM too where it may run (outside a transaction: not in the tests), so
        # index-only scans need not wait for autovacuum to mark the new pages visible.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cursor:
            for model in (Conversation, Message, NluRecord, Handoff):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
    return total


@transaction.atomic
def erase_synthetic() -> int:
    """Delete every generated conversation, with its messages, readings and handoffs; the count deleted."""
    mine = Conversation.objects.filter(client_key=SYNTHETIC_KEY)
    NluRecord.objects.filter(message__conversation__in=mine).delete()
    Handoff.objects.filter(conversation__in=mine).delete()
    Message.objects.filter(conversation__in=mine).delete()
    return mine.delete()[0]


def _agents() -> list[User]:
    return [_user(name, Role.AGENT) for name in AGENTS]


def _user(name: str, role: Role) -> User:
    found = User.objects.filter(username=name).first()
    if found is None:
        # A password nobody knows: these people exist only in the history.
        found, _ = user_set_up(username=name, password=secrets.token_urlsafe(24), role=role, display_name=name[4:].title())
    return found


def _texts() -> dict[str, list[str]]:
    """The bot's own training examples by intent: what customers write about each."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in sorted(committed_examples().items()):
        by_intent.setdefault(intent, []).append(text)
    by_intent["unclear"] = [
        "can i stake my coins in the app", "what about the new crypto wallet", "is the green mortgage out yet",
        "how do i link my pension pot", "do you do buy now pay later", "my smart watch payment ring thing",
    ]
    return by_intent


@contextmanager
def _timestamps_as_given() -> Iterator[None]:
    """The models stamp `now` on insert (auto_now_add); a history carries its own times."""
    stamped = [
        Conversation._meta.get_field("created_at"),
        Conversation._meta.get_field("status_changed_at"),
        Message._meta.get_field("created_at"),
    ]
    for stamp in stamped:
        stamp.auto_now_add = False
    try:
        yield
    finally:
        for stamp in stamped:
            stamp.auto_now_add = True


@dataclass
class _Turn:
    at: datetime
    sender: str
    text: str
    agent: User | None = None
    delivery: str = ""
    reading: tuple[str, float, list[dict[str, object]]] | None = None  # intent, confidence, ranking
    meant: str = ""  # what the customer's message was about (the intent, or "unclear")


@dataclass
class _HandoffPlan:
    reason: HandoffReason
    priority: Priority
    queued_at: datetime
    claimed_at: datetime | None = None
    claimed_by: User | None = None
    closed_at: datetime | None = None
    outcome: str = ""
    label_intent: str = ""
    label_needed: bool | None = None


@dataclass
class _Conversation:
    started: datetime
    turns: list[_Turn] = field(default_factory=list)
    handoff: _HandoffPlan | None = None


class _Day:
    def __init__(
        self, plan: Plan, day: int, agents: Sequence[User], reviewer: User, texts: dict[str, list[str]], now: datetime
    ) -> None:
        self.rng = random.Random(f"{plan.seed}:{day}")
        # The reviews draw from their own generator: the traffic is the same with or without them.
        self.review_rng = random.Random(f"{plan.seed}:{day}:reviews")
        self.reviewer = reviewer
        self.plan = plan
        self.start = _midnight(plan.first + timedelta(days=day))
        self.weekend = self.start.weekday() >= 5
        self.drift = plan.drift_on(day)
        self.agents = agents
        self.texts = texts
        self.now = now
        weights = dict(ROUTINE) | {name: topic[2] for name, topic in TOPICS.items()} | OTHER
        if self.drift and self.drift.kind == "intent_surge":
            weights["card_declined"] *= 6
        self.intents = list(weights)
        self.weights = list(weights.values())

    # --- what happens ---

    def count(self) -> int:
        season = 1 + 0.15 * math.sin(2 * math.pi * (self.start.timetuple().tm_yday - 80) / 365)
        volume = self.plan.per_day * season * (0.55 if self.weekend else 1.0) * self.rng.uniform(0.92, 1.08)
        if self.drift and self.drift.kind == "unknown_topic":
            volume *= 4 / 3
        return max(1, round(volume))

    def conversations(self) -> list[_Conversation]:
        n = self.count()
        unknown = round(n / 4) if self.drift and self.drift.kind == "unknown_topic" else 0
        hours = self.rng.choices(range(24), weights=HOURS, k=n)
        found = []
        for i, hour in enumerate(sorted(hours)):
            started = self.start + timedelta(hours=hour, seconds=self.rng.uniform(0, 3599))
            found.append(self._conversation(started, "unclear" if i % 4 == 0 and unknown else None))
        return found

    def _confidence(self, high: bool = True) -> float:
        value = self.rng.betavariate(9, 1.6) if high else self.rng.uniform(0.05, 0.29)
        if self.drift and self.drift.kind == "confidence_drop":
            value -= 0.3
        return round(min(0.999, max(0.01, value)), 4)

    def _reading(self, intent: str, confidence: float) -> tuple[str, float, list[dict[str, object]]]:
        """The classifier's reading of a message about `intent`. Unsure readings are often wrong (below 0.5 the
        top intent is another one half the time: what the threshold replay weighs against containment), and a
        message about nothing the bot knows ("unclear") reads as a wrong guess."""
        guesses = self.rng.sample([i for i in self.intents if i not in (intent, "unclear")], 2)
        misread = intent == "unclear" or (confidence < 0.5 and self.rng.random() < 0.5)
        top = guesses[0] if misread else intent
        runners_up = [i for i in (*guesses, intent) if i not in (top, "unclear")][:2]
        ranking: list[dict[str, object]] = [{"name": top, "confidence": confidence}] + [
            {"name": other, "confidence": round((1 - confidence) * share, 4)}
            for other, share in zip(runners_up, (0.6, 0.25))
        ]
        return (FALLBACK_INTENT if confidence < FALLBACK_THRESHOLD else top), confidence, ranking

    def _text(self, intent: str) -> str:
        return self.rng.choice(self.texts.get(intent) or [f"about {intent.replace('_', ' ')}"])

    def _bot_down(self, at: datetime) -> bool:
        return bool(self.drift and self.drift.kind == "bot_outage" and 9 <= at.hour < 15)

    def _conversation(self, started: datetime, forced: str | None) -> _Conversation:
        rng = self.rng
        talk = _Conversation(started)
        clock = [started]

        def after(low: float, high: float) -> datetime:
            clock[0] += timedelta(seconds=rng.uniform(low, high))
            return clock[0]

        def customer(intent: str, confidence: float | None = None) -> int:
            at = after(5, 60) if talk.turns else started
            reading = self._reading(intent, self._confidence() if confidence is None else confidence)
            talk.turns.append(
                _Turn(at, Sender.CUSTOMER, self._text(intent), delivery=Delivery.DELIVERED, reading=reading, meant=intent)
            )
            return len(talk.turns) - 1

        def bot(text: str) -> None:
            talk.turns.append(_Turn(after(0.3, 1.5), Sender.BOT, text))

        def hand_off(reason: HandoffReason, priority: Priority, label: str, needed: bool) -> None:
            """To a person, on the customer's last message."""
            talk.handoff = _HandoffPlan(reason, priority, talk.turns[-1].at + timedelta(seconds=1))
            if reason != HandoffReason.BOT_UNAVAILABLE:
                bot("Let me get a person from our team for you.")
            self._staff(talk, label, needed)

        intent = forced or rng.choices(self.intents, weights=self.weights)[0]
        if self._bot_down(started):  # the bot never reads it: no reading, the portal fails open to a person
            talk.turns.append(_Turn(started, Sender.CUSTOMER, self._text(intent), delivery=Delivery.FAILED))
            label = intent if intent in ROUTINE or intent in TOPICS else ""
            hand_off(HandoffReason.BOT_UNAVAILABLE, Priority.NORMAL, label, intent not in ROUTINE)
            return talk
        if rng.random() < 0.35:
            customer("greet")
            bot("Hello! How can I help?")
        if intent in TOPICS:
            reason, priority, _ = TOPICS[intent]
            customer(intent, max(0.31, self._confidence()))
            if intent == "request_human" and rng.random() < 0.4:  # a routine question, asked of a person
                hand_off(reason, priority, rng.choice(list(ROUTINE)), False)
            else:
                hand_off(reason, priority, intent, True)
        elif intent == "unclear" or (intent in ROUTINE and rng.random() < 0.06):
            customer(intent, self._confidence(high=False))
            bot("Sorry, I did not understand that. Could you say it another way?")
            if intent in ROUTINE and rng.random() < 0.6:
                customer(intent)
                bot(f"Here is what I know about {intent.replace('_', ' ')}.")
                self._after_answer(talk, intent, customer, bot, hand_off)
            else:
                customer(intent, self._confidence(high=False))
                needed = intent == "unclear" or rng.random() < 0.3
                hand_off(HandoffReason.LOW_CONFIDENCE, Priority.NORMAL, "" if intent == "unclear" else intent, needed)
        elif intent == OUT_OF_SCOPE_INTENT:
            customer(intent)
            bot("That is not something I can help with. Would you like to talk to a person?")
            if rng.random() < 0.25:
                customer("affirm")
                hand_off(HandoffReason.OUT_OF_SCOPE_OFFER_ACCEPTED, Priority.LOW, "", rng.random() < 0.5)
            else:
                customer("deny")
                bot("All right. Anything else?")
        elif intent == "lost_or_stolen_card":
            customer(intent)
            bot("I can block your card. What are the last four digits?")
            customer("inform")
            if rng.random() < 0.07:
                hand_off(HandoffReason.VERIFICATION_FAILED, Priority.HIGH, intent, True)
            else:
                bot("Your card is blocked; a new one is on its way.")
                self._after_answer(talk, intent, customer, bot, hand_off)
        else:
            customer(intent)
            if rng.random() < 0.004:
                hand_off(HandoffReason.SAFETY_SCREEN, Priority.URGENT, "financial_hardship", True)
            else:
                bot(f"Here is what I know about {intent.replace('_', ' ')}.")
                self._after_answer(talk, intent, customer, bot, hand_off)
        return talk

    def _after_answer(
        self,
        talk: _Conversation,
        intent: str,
        customer: Callable[..., int],
        bot: Callable[[str], None],
        hand_off: Callable[..., None],
    ) -> None:
        """After the bot answered: mostly thanks and goodbye; now and then the answer was not enough."""
        roll = self.rng.random()
        if roll < 0.04:  # the customer asks for a person after all: the agent mostly finds the answer was fine
            customer("request_human")
            hand_off(HandoffReason.EXPLICIT_REQUEST, Priority.NORMAL, intent, self.rng.random() < 0.3)
        elif roll < 0.05:  # it was fraud all along: the bot answered what it should have escalated
            customer("express_frustration")
            hand_off(HandoffReason.FRUSTRATION, Priority.HIGH, "report_fraud", True)
        elif roll < 0.55:
            customer("thanks")
            bot("You are welcome!")

    def _staff(self, talk: _Conversation, label: str, needed: bool) -> None:
        """An agent claims the handoff when one is in, writes, then resolves it (or hands it back)."""
        handoff = talk.handoff
        assert handoff is not None
        rng = self.rng
        claim = _next_staffed(handoff.queued_at) + timedelta(
            seconds=rng.expovariate(1 / CLAIM_WAIT[handoff.priority]) + 5
        )
        if claim > self.now:
            return  # still waiting
        handoff.claimed_at = claim
        handoff.claimed_by = rng.choices(self.agents, weights=(5, 4, 4, 3, 2))[0]
        first = claim + timedelta(seconds=rng.uniform(10, 90))
        talk.turns.append(_Turn(first, Sender.AGENT, "Hi, I am here to help.", agent=handoff.claimed_by))
        at = first
        for _ in range(rng.randint(1, 3)):
            at += timedelta(seconds=rng.uniform(20, 120))
            talk.turns.append(_Turn(at, Sender.CUSTOMER, "thanks, here are the details", delivery=Delivery.SKIPPED))
            at += timedelta(seconds=rng.uniform(20, 180))
            talk.turns.append(_Turn(at, Sender.AGENT, "Done: anything else?", agent=handoff.claimed_by))
        closed = at + timedelta(seconds=rng.uniform(30, 600))
        if closed > self.now:
            return  # still with the agent
        handoff.closed_at = closed
        if rng.random() < 0.88:
            handoff.outcome = Outcome.RESOLVED
            if rng.random() < 0.9:
                handoff.label_intent, handoff.label_needed = label, needed
        else:
            handoff.outcome = Outcome.HANDED_BACK

    # --- rows ---

    def _review(self, record: NluRecord, turn: _Turn) -> Review:
        """A manager's verdict on the reading: the intent it was about, or out of scope for nothing the bot knows."""
        top = str(record.ranking[0]["name"])
        if turn.meant == "unclear":
            verdict, intent = Verdict.OUT_OF_SCOPE, ""
        else:
            verdict, intent = (Verdict.CONFIRMED if top == turn.meant else Verdict.RELABELLED), turn.meant
        return Review(
            record=record, verdict=verdict, intent=intent, reviewed_by=self.reviewer,
            reviewed_at=min(self.now, turn.at + timedelta(days=1)),
        )

    def write(self) -> Written:
        talks = self.conversations()
        conversations, messages, readings, handoffs, reviews = [], [], [], [], []
        for talk in talks:
            talk.turns.sort(key=lambda turn: turn.at)
            conversation = Conversation(
                id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
                client_key=SYNTHETIC_KEY,
                created_at=talk.started,
                last_seq=len(talk.turns),
            )
            h = talk.handoff
            if h is None or h.outcome == Outcome.HANDED_BACK:
                conversation.status = ConversationStatus.BOT
                conversation.status_changed_at = h.closed_at if h and h.closed_at else talk.started
            elif h.outcome == Outcome.RESOLVED:
                assert h.closed_at is not None
                conversation.status = ConversationStatus.RESOLVED
                conversation.status_changed_at = conversation.resolved_at = h.closed_at
            else:
                conversation.status = ConversationStatus.ASSIGNED if h.claimed_at else ConversationStatus.QUEUED
                conversation.assigned_agent = h.claimed_by
                conversation.status_changed_at = h.claimed_at or h.queued_at
            conversations.append(conversation)
            rows = [
                Message(
                    conversation=conversation, seq=seq, sender=turn.sender, text=turn.text, agent=turn.agent,
                    delivery=turn.delivery, delivery_attempts=1 if turn.delivery else 0, created_at=turn.at,
                )
                for seq, turn in enumerate(talk.turns, start=1)
            ]
            messages.extend(rows)
            for turn, row in zip(talk.turns, rows):
                if turn.reading:
                    intent, confidence, ranking = turn.reading
                    record = NluRecord(
                        message=row, text=turn.text, intent=intent, confidence=confidence, ranking=ranking,
                        model_id=MODEL_ID, classified_at=turn.at,
                    )
                    readings.append(record)
                    if self.review_rng.random() < REVIEWED_SHARE:
                        reviews.append(self._review(record, turn))
            if h:
                led_by = rows[_led_index(talk, h)]
                handoffs.append(
                    Handoff(
                        conversation=conversation, reason=h.reason.value, priority=h.priority.value, context={},
                        queued_at=h.queued_at, priority_changed_at=h.queued_at, claimed_at=h.claimed_at,
                        claimed_by=h.claimed_by, closed_at=h.closed_at, outcome=h.outcome, message=led_by,
                        label_intent=h.label_intent, label_handoff_needed=h.label_needed,
                    )
                )
        Conversation.objects.bulk_create(conversations, batch_size=2000)
        Message.objects.bulk_create(messages, batch_size=2000)
        NluRecord.objects.bulk_create(readings, batch_size=2000)
        Handoff.objects.bulk_create(handoffs, batch_size=2000)
        Review.objects.bulk_create(reviews, batch_size=2000)
        return Written(len(conversations), len(messages), len(readings), len(handoffs))


def _led_index(talk: _Conversation, handoff: _HandoffPlan) -> int:
    """The turn that led to the handoff: the last customer turn up to its queueing (turns are sorted by now)."""
    return max(
        i for i, turn in enumerate(talk.turns) if turn.sender == Sender.CUSTOMER and turn.at < handoff.queued_at
    )


def _next_staffed(at: datetime) -> datetime:
    """`at` if agents are in then, else when they next come in."""
    while True:
        opens, closes = STAFFED[1] if at.weekday() >= 5 else STAFFED[0]
        if opens <= at.hour < closes:
            return at
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        if at.hour < opens:
            return day + timedelta(hours=opens)
        at = day + timedelta(days=1)
