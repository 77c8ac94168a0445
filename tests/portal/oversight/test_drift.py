"""The drift job: its arithmetic on series with and without injected drift, exactly; on a generated history it
finds the injected days and no other; what it stores and mails."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from portal_support import make_agent

from oversight import drift, synthetic
from oversight.drift import Day, Finding, Margins, psi
from oversight.models import DriftCheck, Measure
from oversight.services import drift_check
from oversight.synthetic import Drift, Plan
from oversight.tasks import check_drift

MARGINS = Margins(psi=0.25, rate=0.05, sigmas=5.0, share=0.02, share_sigmas=7.0)
INTENTS = {"card_delivery": 300, "pin": 200, "greet": 400, "nlu_fallback": 100, "card_declined": 20}  # 1020 a day
CONFIDENCE = {9: 600, 8: 300, 1: 100}


def ordinary(**changes: object) -> Day:
    day = Day(intents=Counter(INTENTS), confidence=Counter(CONFIDENCE), conversations=500, handed_off=100)
    for name, value in changes.items():
        setattr(day, name, value)
    return day


def baseline() -> list[Day]:
    # Four weeks whose handoff rate moves a little from day to day (0.19, 0.20, 0.21, …).
    return [ordinary(handed_off=95 + 5 * (n % 3)) for n in range(drift.BASELINE_DAYS)]


def by_measure(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.measure: finding for finding in findings}


def test_psi_of_a_distribution_against_itself_and_another() -> None:
    assert psi(INTENTS, INTENTS) == 0.0
    # Two categories, 50/50 then 90/10, each count smoothed by half: shares 50.5/101 and 90.5/101, 10.5/101.
    e, a = 50.5 / 101, (90.5 / 101, 10.5 / 101)
    assert psi({"x": 50, "y": 50}, {"x": 90, "y": 10}) == pytest.approx(
        (a[0] - e) * math.log(a[0] / e) + (a[1] - e) * math.log(a[1] / e)
    )
    # A category one side never saw costs a finite amount.
    assert 0 < psi({"x": 100}, {"x": 99, "new": 1}) < 0.05


def test_an_ordinary_day_is_no_drift_and_its_bands_are_exact() -> None:
    found = by_measure(drift.evaluate(ordinary(), baseline(), MARGINS))
    assert not any(f.drifted for f in found.values())
    # The same shares (up to the smoothing's half counts), within 0.25 past the noise of 5 intents in 1020 messages.
    assert found["intent_mix"] == Finding(Measure.INTENT_MIX, pytest.approx(0.0, abs=1e-4), 0.0, 0.0, 0.25 + 4 / 1020)
    assert found["confidence"].high == pytest.approx(0.25 + 2 / 1000)  # three bins, 1000 readings
    # The fallback rate never moved: its band is the margin. The handoff rate's median is 0.2; the baseline's days
    # spread by 1.4826 × 0.01 (median absolute deviation), but a day of 500 conversations wanders more by itself
    # (√(0.2 × 0.8 / 500)): 5 of that is the band.
    assert (found["fallback_rate"].baseline, found["fallback_rate"].low, found["fallback_rate"].high) == (
        pytest.approx(100 / 1020), pytest.approx(100 / 1020 - 0.05), pytest.approx(100 / 1020 + 0.05)
    )
    handoff = found["handoff_rate"]
    assert (handoff.value, handoff.baseline) == (0.2, pytest.approx(0.2))
    assert handoff.high - handoff.baseline == pytest.approx(5 * math.sqrt(0.2 * 0.8 / 500))
    # On a busier day the baseline's own spread is the wider.
    busy = by_measure(drift.evaluate(ordinary(conversations=5000, handed_off=1000), baseline(), MARGINS))
    assert busy["handoff_rate"].high - 0.2 == pytest.approx(5 * 1.4826 * 0.01)
    # The intent nearest its band: on an unchanged day, a share equal to its baseline.
    assert found["intent_share"].value == found["intent_share"].baseline


@pytest.mark.parametrize(
    ("change", "drifted"),
    [
        # A rare intent's share jumps from 2 % to 12 %: the mix moves (PSI about 0.2) far less than it does.
        ({"intents": Counter(INTENTS, card_declined=120)}, {"intent_share"}),
        # Every confidence a bin or two lower.
        ({"confidence": Counter({7: 600, 6: 300, 1: 100})}, {"confidence"}),
        # Twice the fallbacks (and so the fallback's share).
        ({"intents": Counter(INTENTS, nlu_fallback=200)}, {"fallback_rate", "intent_share"}),
        # Half the conversations handed off.
        ({"handed_off": 250}, {"handoff_rate"}),
        # A new topic: a quarter of the messages about something never seen.
        ({"intents": Counter(INTENTS, crypto=350)}, {"intent_mix", "intent_share"}),
    ],
)
def test_an_injected_drift_is_found_in_its_measures_only(change: dict[str, object], drifted: set[str]) -> None:
    found = drift.evaluate(ordinary(**change), baseline(), MARGINS)
    assert {f.measure for f in found if f.drifted} == drifted


def test_a_drifted_day_in_the_baseline_neither_moves_nor_widens_the_rates_band() -> None:
    quiet = drift.evaluate(ordinary(), baseline(), MARGINS)
    after_an_outage = drift.evaluate(ordinary(), [*baseline()[1:], ordinary(handed_off=400)], MARGINS)
    assert by_measure(after_an_outage)["handoff_rate"] == by_measure(quiet)["handoff_rate"]


def test_a_day_without_traffic_or_baseline_measures_nothing() -> None:
    assert drift.evaluate(Day(), baseline(), MARGINS) == []
    assert drift.evaluate(ordinary(), [], MARGINS) == []


# --- on the database -------------------------------------------------------------------------------------

FIRST = date(2026, 1, 5)
INJECTED = (
    Drift(30, "intent_surge", ""),
    Drift(32, "confidence_drop", ""),
    Drift(34, "bot_outage", ""),
    Drift(37, "unknown_topic", ""),
)
EXPECTED = {  # the measure each kind of drift must at least show in
    "intent_surge": Measure.INTENT_SHARE,
    "confidence_drop": Measure.CONFIDENCE,
    "bot_outage": Measure.HANDOFF_RATE,
    "unknown_topic": Measure.FALLBACK_RATE,
}


@pytest.mark.django_db
def test_on_a_generated_history_the_injected_days_are_found_and_no_other() -> None:
    plan = Plan(first=FIRST, days=40, per_day=260, seed=3, drifts=INJECTED)
    synthetic.generate(plan)
    checked = [FIRST + timedelta(days=n) for n in range(drift.BASELINE_DAYS, plan.days)]
    drifted = drift_check(days=checked, mail=False)
    injected = {day: found.kind for day, found in plan.drift_dates()}
    assert {check.day for check in drifted} == set(injected)
    for day, kind in injected.items():
        assert EXPECTED[kind] in {check.measure for check in drifted if check.day == day}, kind
    surge = next(c for c in drifted if c.day == FIRST + timedelta(days=30) and c.measure == Measure.INTENT_SHARE)
    assert surge.detail == "card_declined"
    # Every checked day has its five measures stored, drifted or not, for the dashboard's charts.
    assert DriftCheck.objects.count() == 5 * len(checked)


@pytest.mark.django_db
def test_the_alerts_are_mailed_to_the_managers_once(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    plan = Plan(first=FIRST, days=35, per_day=260, seed=3, drifts=(Drift(34, "bot_outage", ""),))
    synthetic.generate(plan)
    for username, role in (("mona", "manager"), ("sam", "agent")):
        user = make_agent(username, username.title(), role=role)
        user.email = f"{username}@bank.example"
        user.save()
    make_agent("max", "Max", role="manager")  # no address: not mailed
    outage = FIRST + timedelta(days=34)
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 2, 9, 0, 20, tzinfo=dt_timezone.utc))
    with django_capture_on_commit_callbacks(execute=True):
        assert check_drift() == 1  # the beat job's default: yesterday, 2026-02-08, the outage
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["mona@bank.example"]
    assert sent.subject == f"Switchboard: the bot's traffic drifted on {outage}"
    assert f"{outage}  Handoff rate: 0.5" in sent.body
    assert DriftCheck.objects.get(day=outage, measure=Measure.HANDOFF_RATE).mailed_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert check_drift(outage.isoformat()) == 1  # measured again, not mailed again
    assert len(mail.outbox) == 1
