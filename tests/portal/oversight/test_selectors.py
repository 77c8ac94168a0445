"""The dashboard's figures on a day whose answers are known, exactly (docs/oversight.md defines each)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from history_support import DAY, at, known_day

from oversight import selectors
from oversight.aggregates import interpolated
from oversight.selectors import Containment, Durations, IntentRecord, Period

pytestmark = pytest.mark.django_db


@pytest.fixture
def history() -> None:
    known_day()


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


def test_the_dashboard_gathers_every_figure_and_sums_its_days(history: None) -> None:
    board = selectors.dashboard(Period.days(DAY - timedelta(days=1), 2))
    assert board.containment == Containment(conversations=7, contained=3)
    assert [(r.reason, r.conversations, r.rate) for r in board.reasons] == [
        ("explicit_request", 2, 2 / 7),
        ("low_confidence", 1, 1 / 7),
        ("sensitive_topic", 1, 1 / 7),
    ]
    assert board.human_side == selectors.human_side(board.period)
    assert board.intents == selectors.intents(board.period)


def test_interpolation_matches_percentile_cont() -> None:
    assert interpolated([], 0.5) is None
    assert interpolated([4.0], 0.9) == 4.0
    assert interpolated([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert interpolated([10.0, 20.0], 0.9) == 19.0
