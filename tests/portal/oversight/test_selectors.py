"""The dashboard's figures on a day whose answers are known, exactly (docs/oversight.md defines each)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from history_support import conversation, handoff, message, said

from oversight import selectors
from oversight.aggregates import interpolated
from oversight.selectors import Containment, Durations, IntentRecord, Period

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)


def at(hh_mm_ss: str, day: int = 0) -> datetime:
    hours, minutes, seconds = (int(part) for part in hh_mm_ss.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, hours, minutes, seconds, tzinfo=timezone.utc) + timedelta(days=day)


@pytest.fixture
def history() -> None:
    """Five conversations on DAY, three the bot finished itself; two the day before; one session without a word."""
    c1 = conversation(at("08:00:00"))
    said(c1, at("08:00:00"), "greet")
    said(c1, at("08:00:10"), "card_delivery")
    c2 = conversation(at("09:00:00"))
    said(c2, at("09:00:00"), "opening_hours")
    c3 = conversation(at("09:30:00"))
    said(c3, at("09:30:00"), "pin")
    # Answered, then the customer asked for a person, who said none was needed.
    c4 = conversation(at("10:00:00"))
    said(c4, at("10:00:00"), "card_delivery")
    asked = said(c4, at("10:01:00"), "request_human")
    handoff(
        c4, "explicit_request", at("10:01:00"), asked, claimed_at=at("10:03:00"), closed_at=at("10:11:00"),
        outcome="resolved", label_intent="card_delivery", label_handoff_needed=False,
    )
    message(c4, at("10:04:00"), sender="agent")
    # The bot escalated on the topic itself: right, not missed.
    c5 = conversation(at("12:00:00"))
    fraud = said(c5, at("12:00:00"), "report_fraud")
    handoff(
        c5, "sensitive_topic", at("12:00:00"), fraud, claimed_at=at("14:30:00"), closed_at=at("15:00:00"),
        outcome="resolved", label_intent="report_fraud", label_handoff_needed=True,
    )
    message(c5, at("14:32:00"), sender="agent")
    conversation(at("13:00:00"))  # a session the customer never wrote in
    # The day before: queued at 23:30, still waiting at midnight and 01:00.
    c7 = conversation(at("22:00:00", day=-1))
    said(c7, at("22:00:00", day=-1), "pin")
    handoff(c7, "explicit_request", at("23:30:00", day=-1), claimed_at=at("01:30:00"))
    # Started the day before; not understood after midnight; the agent says it was fraud: the answer before
    # it (transfer limits) missed an escalation.
    c9 = conversation(at("23:50:00", day=-1))
    said(c9, at("23:50:00", day=-1), "transfer_limits")
    unclear = said(c9, at("00:05:00"), "nlu_fallback", confidence=0.3)
    handoff(
        c9, "low_confidence", at("00:05:00"), unclear, claimed_at=at("00:05:30"), closed_at=at("00:10:00"),
        outcome="handed_back", label_intent="report_fraud", label_handoff_needed=True,
    )
    message(c9, at("00:06:00"), sender="agent")


def test_containment_is_the_share_of_conversations_no_person_touched(history: None) -> None:
    found = selectors.containment(Period.days(DAY))
    assert found == Containment(conversations=5, contained=3)
    assert found.rate == 0.6
    assert found.handoff_rate == 0.4


def test_containment_by_day_lists_every_day(history: None) -> None:
    days = selectors.containment_by_day(Period.days(DAY - timedelta(days=1), 3))
    assert [(d.day, d.containment) for d in days] == [
        (DAY - timedelta(days=1), Containment(2, 0)),
        (DAY, Containment(5, 3)),
        (DAY + timedelta(days=1), Containment(0, 0)),
    ]
    assert days[2].containment.rate is None


def test_handoff_rate_by_reason(history: None) -> None:
    assert [(r.reason, r.conversations, r.rate) for r in selectors.handoff_reasons(Period.days(DAY))] == [
        ("explicit_request", 1, 0.2),
        ("sensitive_topic", 1, 0.2),
    ]


def test_the_human_side_in_percentiles(history: None) -> None:
    found = selectors.human_side(Period.days(DAY))
    # Claims after 30 s, 120 s, 9000 s: p90 lies 0.8 of the way from the second to the third.
    assert found.time_to_claim == Durations(3, pytest.approx(120.0), pytest.approx(7224.0))
    assert found.time_to_first_response == Durations(3, pytest.approx(180.0), pytest.approx(7332.0))
    # The handed-back handoff is no resolution.
    assert found.resolution_time == Durations(2, pytest.approx(5700.0), pytest.approx(9780.0))


def test_no_handoffs_no_percentiles() -> None:
    found = selectors.human_side(Period.days(DAY))
    assert found.time_to_claim == Durations(0, None, None)


def test_queue_length_at_the_top_of_each_hour(history: None) -> None:
    hours = selectors.queue_by_hour(Period.days(DAY))
    assert [(h.hour, h.mean, h.most) for h in hours if h.most] == [(0, 1.0, 1), (1, 1.0, 1), (13, 1.0, 1), (14, 1.0, 1)]
    # Over two days an hour's mean halves.
    two_days = selectors.queue_by_hour(Period.days(DAY - timedelta(days=1), 2))
    assert (two_days[0].mean, two_days[0].most) == (0.5, 1)


def test_per_intent_record(history: None) -> None:
    assert selectors.intents(Period.days(DAY)) == [
        IntentRecord("card_delivery", volume=2, answered=2, handed_off=0, unneeded_handoffs=0, missed_escalations=1),
        IntentRecord("greet", 1, 1, 0, 0, 0),
        IntentRecord("nlu_fallback", 1, 0, 1, 0, 0),
        IntentRecord("opening_hours", 1, 1, 0, 0, 0),
        IntentRecord("pin", 1, 1, 0, 0, 0),
        IntentRecord("report_fraud", 1, 0, 1, 0, 0),
        IntentRecord("request_human", 1, 0, 1, 1, 0),
        # Answered the day before; the escalation it missed came today.
        IntentRecord("transfer_limits", 0, 0, 0, 0, 1),
    ]


def test_interpolation_matches_percentile_cont() -> None:
    assert interpolated([], 0.5) is None
    assert interpolated([4.0], 0.9) == 4.0
    assert interpolated([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert interpolated([10.0, 20.0], 0.9) == 19.0
