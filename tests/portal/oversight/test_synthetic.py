"""The synthetic history: deterministic by its seed, shaped like the bot's traffic, and kept off real data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Conversation, Handoff, Message
from oversight import synthetic
from oversight.synthetic import Drift, Plan
from tuning.models import NluRecord, Review

pytestmark = pytest.mark.django_db

PLAN = Plan(first=date(2026, 3, 2), days=3, per_day=40, seed=7, drifts=(Drift(2, "bot_outage", "down"),))


def _fingerprint() -> list[tuple[object, ...]]:
    return sorted(
        (str(m.conversation_id), m.seq, m.sender, m.text, m.created_at, getattr(m, "nlu", None) and m.nlu.intent)
        for m in Message.objects.select_related("nlu")
    )


def test_the_same_seed_writes_the_same_history() -> None:
    synthetic.generate(PLAN)
    first = _fingerprint()
    assert synthetic.erase_synthetic() > 0
    assert not Message.objects.exists() and not NluRecord.objects.exists()
    synthetic.generate(PLAN)
    assert _fingerprint() == first
    synthetic.erase_synthetic()
    synthetic.generate(Plan(PLAN.first, PLAN.days, PLAN.per_day, seed=8, drifts=PLAN.drifts))
    assert _fingerprint() != first


def test_a_history_keeps_its_own_times_and_its_drift_day() -> None:
    written = synthetic.generate(PLAN)
    assert written.conversations == Conversation.objects.count()
    start, end = synthetic._midnight(PLAN.first), PLAN.end
    assert not Conversation.objects.exclude(created_at__gte=start, created_at__lt=end).exists()
    assert not Message.objects.filter(created_at__lt=start).exists()
    # The outage day's 09:00-15:00 conversations all went to a person, unread by the bot; no other day's did.
    outage = Handoff.objects.filter(reason="bot_unavailable")
    assert outage.exists()
    assert {h.queued_at.date() for h in outage} == {PLAN.first + timedelta(days=2)}
    assert {9 <= h.queued_at.hour < 15 for h in outage} == {True}
    assert not NluRecord.objects.filter(message__handoffs_led_to__reason="bot_unavailable").exists()
    # A few readings are reviewed by a manager: confirmed where the classifier's top intent was what was meant.
    reviews = Review.objects.select_related("record")
    assert 0 < reviews.count() < NluRecord.objects.count() / 10
    assert {r.verdict for r in reviews if r.record.ranking[0]["name"] == r.intent} <= {"confirmed"}
    # Every handoff is led by a customer message, and the resolved ones mostly carry the agent's label.
    assert not Handoff.objects.filter(message__isnull=True).exists()
    assert Handoff.objects.filter(outcome="resolved").exclude(label_handoff_needed=None).exists()


def test_the_command_refuses_real_conversations_and_an_earlier_history() -> None:
    args = ["generate_traffic_history", "--days", "2", "--per-day", "5", "--end", "2026-03-04"]
    real = Conversation.objects.create()
    with pytest.raises(CommandError, match="1 conversations that were not generated"):
        call_command(*args)
    call_command(*args, "--allow-real-data")
    assert Conversation.objects.count() > 1
    with pytest.raises(CommandError, match="--replace"):
        call_command(*args, "--allow-real-data")
    call_command(*args, "--allow-real-data", "--replace")
    assert Conversation.objects.filter(pk=real.pk).exists()


def test_the_command_injects_its_drift_on_the_days_asked_for() -> None:
    call_command("generate_traffic_history", "--days", "3", "--per-day", "30", "--end", "2026-03-05", "--drift-days", "9,9,1,9")
    outage = Handoff.objects.filter(reason="bot_unavailable")
    assert {h.queued_at.date() for h in outage} == {date(2026, 3, 3)}
    with pytest.raises(CommandError, match="one for each kind of drift"):
        call_command("generate_traffic_history", "--replace", "--drift-days", "1,2")
