"""The load benchmark's own arithmetic: percentiles, and counting what reached a socket."""

from __future__ import annotations

import math

import pytest

from benchmarks.load_stats import Delivery, Latencies, SeqCount, merge, percentile


def test_percentile_interpolates_between_ranks_like_numpy():
    values = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(values, 99) == pytest.approx(3.97)  # numpy.percentile([1, 2, 3, 4], 99) = 3.97
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_nothing_is_nan():
    assert math.isnan(percentile([], 50))


def test_latencies_are_in_milliseconds():
    figures = Latencies.of([0.010, 0.020, 0.030])
    assert (figures.count, figures.p50_ms) == (3, 20.0)


def test_delivery_counts_each_message_once_by_client_id():
    sent = {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0, "e": 0.0}
    arrivals = {
        "a": [0.050],  # in time
        "b": [0.100, 0.200],  # in time, but doubled
        "c": [12.0],  # arrived after the 10 s deadline
        # "d" never arrived
        "e": [9.0],
        "old": [0.010],  # not sent in this round
    }
    delivery = Delivery.count(sent, arrivals, deadline=10.0)
    assert (delivery.sent, delivery.received, delivery.late, delivery.lost) == (5, 3, 1, 1)
    assert (delivery.doubled, delivery.unexpected) == (1, 1)
    assert delivery.latency.count == 3  # of the first arrivals in time: 0.05, 0.1, 9.0
    assert delivery.latency.p50_ms == 100.0


def test_a_message_arriving_once_within_the_deadline_is_all_well():
    delivery = Delivery.count({"a": 1.0}, {"a": [1.2]}, deadline=1.0)
    assert (delivery.received, delivery.late, delivery.lost, delivery.doubled, delivery.unexpected) == (
        1,
        0,
        0,
        0,
        0,
    )


def test_merge_keeps_every_arrival_of_every_socket():
    assert merge([{"a": [1.0]}, {"a": [2.0], "b": [3.0]}]) == {"a": [1.0, 2.0], "b": [3.0]}


def test_seq_count_sees_numbers_skipped_and_read_twice_past_each_baseline():
    seen = {
        ("customer", "a"): {1: 1, 2: 1, 3: 1, 5: 1, 6: 2},  # 4 skipped, 6 read twice
        ("customer", "b"): {7: 1, 8: 1},  # none past its baseline of 8
        ("agent", "a"): {3: 1, 4: 1, 5: 1, 6: 1},  # 1-2 before its baseline: fine
    }
    after = {("customer", "a"): 0, ("customer", "b"): 8, ("agent", "a"): 2}
    assert SeqCount.count(seen, after) == SeqCount(skipped=1, doubled=1)
    assert SeqCount.count({("agent", "a"): {4: 1}}, {("agent", "a"): 1}) == SeqCount(skipped=2, doubled=0)
