"""Drift: is the last day's traffic unlike the weeks before it? Five measures of each day against a trailing
baseline (the BASELINE_DAYS before it): the intent mix and the confidence distribution by their population-
stability index, the intent whose share moved most, and the fallback and handoff rates, each against a band
around its baseline (docs/oversight.md).

`daily_series` reads the days from the database in three grouped queries; the rest is arithmetic on them, so
the tests give it series of their own.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db.models import Count, F, IntegerField
from django.db.models.functions import Cast, Floor, Least, TruncDate

from oversight.models import Measure
from oversight.selectors import Period, containment_by_day
from tuning.bot_data import FALLBACK_INTENT
from tuning.models import NluRecord

BASELINE_DAYS = 28
CONFIDENCE_BINS = 10  # [0, 0.1), [0.1, 0.2), … [0.9, 1]
# A PSI's shares are smoothed by half a count per category, so a category one side never saw costs a finite
# amount rather than an infinite one.
SMOOTHING = 0.5
MAD_TO_SD = 1.4826  # the median absolute deviation of normal values times this is their standard deviation


@dataclass
class Day:
    """What one day's traffic looked like."""

    intents: Counter[str] = field(default_factory=Counter)  # classified customer messages by intent
    confidence: Counter[int] = field(default_factory=Counter)  # by bin of confidence
    conversations: int = 0
    handed_off: int = 0

    @property
    def classified(self) -> int:
        return sum(self.intents.values())

    @property
    def fallback_rate(self) -> float | None:
        return self.intents[FALLBACK_INTENT] / self.classified if self.classified else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handed_off / self.conversations if self.conversations else None


@dataclass(frozen=True)
class Margins:
    """How far a day may stray from its baseline before it is drift (settings.OVERSIGHT_DRIFT_*)."""

    psi: float  # a PSI this far past what sampling alone gives a day of its size (0.25: the usual "shift")
    rate: float  # a fallback or handoff rate at least this far from its baseline's mean, however quiet it was
    sigmas: float  # … or further than this many standard deviations (of the baseline's days, or of the day's own
    # binomial sampling: a quiet day's rate wanders more), if that is wider
    share: float  # an intent's share of the day's messages at least this far from its baseline share
    share_sigmas: float  # … or this many binomial standard deviations, if wider (higher than `sigmas`: the
    # intent furthest out of some forty is the one looked at)

    @classmethod
    def from_settings(cls) -> Margins:
        return cls(
            psi=settings.OVERSIGHT_DRIFT_PSI,
            rate=settings.OVERSIGHT_DRIFT_RATE_MARGIN,
            sigmas=settings.OVERSIGHT_DRIFT_SIGMAS,
            share=settings.OVERSIGHT_DRIFT_SHARE_MARGIN,
            share_sigmas=settings.OVERSIGHT_DRIFT_SHARE_SIGMAS,
        )


@dataclass(frozen=True)
class Finding:
    measure: Measure
    value: float
    baseline: float  # the baseline's share (an intent) or median (a rate); 0 for a PSI (the baseline against itself)
    low: float  # the band the value is expected in
    high: float
    detail: str = ""  # which intent, for intent_share

    @property
    def drifted(self) -> bool:
        return not self.low <= self.value <= self.high


def psi(expected: Mapping[object, int], actual: Mapping[object, int]) -> float:
    """The population-stability index of `actual`'s distribution against `expected`'s: Σ (a − e) ln(a / e) over
    every category either has, on smoothed shares."""
    categories = set(expected) | set(actual)
    e_total = sum(expected.values()) + SMOOTHING * len(categories)
    a_total = sum(actual.values()) + SMOOTHING * len(categories)
    found = 0.0
    for category in categories:
        e = (expected.get(category, 0) + SMOOTHING) / e_total
        a = (actual.get(category, 0) + SMOOTHING) / a_total
        found += (a - e) * math.log(a / e)
    return found


def _binomial_sd(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def _finding(measure: Measure, value: float, p: float, width: float, detail: str = "") -> Finding:
    return Finding(measure, value, p, max(0.0, p - width), min(1.0, p + width), detail)


def _psi_finding(measure: Measure, expected: Counter[Any], actual: Counter[Any], margins: Margins) -> Finding:
    """A PSI against its limit: the margin past what sampling alone gives a day of n messages over k categories
    drawn from the baseline itself, about (k − 1) / n (n·PSI is roughly chi-square with k − 1 degrees)."""
    categories = len(set(expected) | set(actual))
    noise = (categories - 1) / sum(actual.values())
    return Finding(measure, psi(expected, actual), 0.0, 0.0, margins.psi + noise)


def _intent_share(day: Day, pooled: Counter[str], margins: Margins) -> Finding:
    """The intent whose share of the day's messages is furthest past its band (or nearest to it)."""
    total = sum(pooled.values())
    candidates = []
    for intent in sorted(set(pooled) | set(day.intents)):
        p = pooled[intent] / total
        share = day.intents[intent] / day.classified
        width = max(margins.share, margins.share_sigmas * _binomial_sd(p, day.classified))
        candidates.append((abs(share - p) - width, _finding(Measure.INTENT_SHARE, share, p, width, intent)))
    return max(candidates, key=lambda candidate: candidate[0])[1]


def evaluate(day: Day, baseline: Sequence[Day], margins: Margins) -> list[Finding]:
    """The day's measures against the days before it; a measure the day or its baseline has no traffic for is
    left out."""
    found = []
    if day.classified and (pooled := sum((d.intents for d in baseline), Counter())):
        found.append(_psi_finding(Measure.INTENT_MIX, pooled, day.intents, margins))
        found.append(_intent_share(day, pooled, margins))
        found.append(_psi_finding(Measure.CONFIDENCE, sum((d.confidence for d in baseline), Counter()), day.confidence, margins))
    for measure, trials in ((Measure.FALLBACK_RATE, day.classified), (Measure.HANDOFF_RATE, day.conversations)):
        value = getattr(day, measure)
        history = [v for d in baseline if (v := getattr(d, measure)) is not None]
        if value is not None and len(history) >= 2:
            # Median and median absolute deviation: one drifted day in the baseline neither moves the band nor
            # widens it for the four weeks after (a mean and standard deviation would mask what follows it).
            centre = statistics.median(history)
            spread = max(MAD_TO_SD * statistics.median(abs(v - centre) for v in history), _binomial_sd(centre, trials))
            found.append(_finding(measure, value, centre, max(margins.rate, margins.sigmas * spread)))
    return found


def daily_series(period: Period) -> dict[date, Day]:
    """Every day of the period (UTC), days without traffic included."""
    days = {period.start.date() + timedelta(days=n): Day() for n in range(period.day_count)}
    records = NluRecord.objects.filter(classified_at__gte=period.start, classified_at__lt=period.end).annotate(
        day=TruncDate("classified_at", tzinfo=dt_timezone.utc)
    )
    for row in records.values("day", "intent").annotate(n=Count("pk")):
        days[row["day"]].intents[row["intent"]] = row["n"]
    binned = Least(Cast(Floor(F("confidence") * CONFIDENCE_BINS), IntegerField()), CONFIDENCE_BINS - 1)
    for binned_row in records.annotate(bin=binned).values("day", "bin").annotate(n=Count("pk")):
        days[binned_row["day"]].confidence[binned_row["bin"]] = binned_row["n"]
    for counted in containment_by_day(period):
        days[counted.day].conversations = counted.containment.conversations
        days[counted.day].handed_off = counted.containment.conversations - counted.containment.contained
    return days


def check(days: Sequence[date], margins: Margins) -> dict[date, list[Finding]]:
    """Each day's findings against its own trailing baseline, from one read of the days they need."""
    if not days:
        return {}
    first, last = min(days), max(days)
    series = daily_series(Period.days(first - timedelta(days=BASELINE_DAYS), (last - first).days + BASELINE_DAYS + 1))
    return {
        day: evaluate(
            series[day], [series[day - timedelta(days=n)] for n in range(BASELINE_DAYS, 0, -1)], margins
        )
        for day in days
    }
