"""Figures for the load benchmark (benchmarks/load.py): percentiles, and counts of what reached a socket.

Standard library only, so the portal's test suite can check them (tests/benchmarks/test_load_stats.py).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between the closest ranks (NumPy's default).
    NaN when there is nothing to rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latencies:
    """p50/p95/p99 of a sample, in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latencies:
        ms = [s * 1000 for s in seconds]
        return cls(len(ms), percentile(ms, 50), percentile(ms, 95), percentile(ms, 99))


@dataclass(frozen=True)
class Delivery:
    """What reached the other side's socket, counted by the sender's client_id: each message sent must
    arrive exactly once within the deadline."""

    sent: int
    received: int  # distinct messages that arrived within the deadline
    late: int  # arrived, but after the deadline
    lost: int  # never arrived
    doubled: int  # arrived more than once
    unexpected: int  # arrivals whose client_id was never sent (e.g. from an earlier round)
    latency: Latencies  # of the first arrival, for those within the deadline

    @classmethod
    def count(
        cls, sent_at: Mapping[str, float], arrivals: Mapping[str, Sequence[float]], deadline: float
    ) -> Delivery:
        """`sent_at`: client_id → send time; `arrivals`: client_id → every time it arrived (same clock)."""
        within, late, lost, doubled = [], 0, 0, 0
        for client_id, sent in sent_at.items():
            times = arrivals.get(client_id, ())
            if not times:
                lost += 1
                continue
            if len(times) > 1:
                doubled += 1
            first = min(times) - sent
            if first <= deadline:
                within.append(first)
            else:
                late += 1
        unexpected = sum(1 for client_id in arrivals if client_id not in sent_at)
        return cls(len(sent_at), len(within), late, lost, doubled, unexpected, Latencies.of(within))


@dataclass(frozen=True)
class SeqCount:
    """What sockets saw by the messages' seq (docs/protocol.md, "Sequence numbers"), past a baseline per
    (socket, conversation): numbers skipped (a message whose event never reached that socket: a client sees the
    gap and re-syncs) and numbers read more than once. A message lost after the last one read shows only in
    Delivery's count by client_id."""

    skipped: int
    doubled: int

    @classmethod
    def count(cls, seen: Mapping[Hashable, Mapping[int, int]], after: Mapping[Hashable, int]) -> SeqCount:
        """`seen`: (socket, conversation) → seq → times read; `after`: the same keys → the seq read before."""
        skipped = doubled = 0
        for key, times in seen.items():
            base = after.get(key, 0)
            fresh = {seq: n for seq, n in times.items() if seq > base}
            if fresh:
                skipped += max(fresh) - base - len(fresh)
                doubled += sum(1 for n in fresh.values() if n > 1)
        return cls(skipped, doubled)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.nan


def merge(maps: Iterable[Mapping[str, Sequence[float]]]) -> dict[str, list[float]]:
    """Arrivals from several sockets (e.g. every agent's) under one client_id → times map."""
    merged: dict[str, list[float]] = {}
    for one in maps:
        for key, times in one.items():
            merged.setdefault(key, []).extend(times)
    return merged
