"""The dashboard's figures as tables: one definition serves the page and each table's CSV export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from oversight.models import Measure
from oversight.selectors import Dashboard, Durations

Kind = Literal["text", "count", "rate", "seconds", "mean", "mean3"]


@dataclass(frozen=True)
class Column:
    label: str
    kind: Kind = "count"


@dataclass(frozen=True)
class Table:
    name: str  # in the export's URL and file name
    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[object]]

    def cells(self) -> list[list[tuple[object, Kind]]]:
        """Each row's values beside their column's kind, for the page to format."""
        kinds = [column.kind for column in self.columns]
        return [list(zip(row, kinds)) for row in self.rows]


def _durations(name: str, found: Durations) -> list[object]:
    return [name, found.count, found.p50, found.p90]


def tables(board: Dashboard) -> list[Table]:
    c = board.containment
    human = board.human_side
    return [
        Table(
            "containment", "Containment",
            [Column("Conversations"), Column("Finished by the bot"), Column("Containment", "rate"),
             Column("Handoff rate", "rate")],
            [[c.conversations, c.contained, c.rate, c.handoff_rate]],
        ),
        Table(
            "by-day", "By day",
            [Column("Day", "text"), Column("Conversations"), Column("Finished by the bot"),
             Column("Containment", "rate")],
            [[d.day.isoformat(), d.containment.conversations, d.containment.contained, d.containment.rate]
             for d in board.by_day],
        ),
        Table(
            "reasons", "Handoffs by reason",
            [Column("Reason", "text"), Column("Code", "text"), Column("Conversations"),
             Column("Of all conversations", "rate")],
            [[r.label, r.reason, r.conversations, r.rate] for r in board.reasons],
        ),
        Table(
            "human-side", "The human side",
            [Column("Measure", "text"), Column("Handoffs"), Column("p50", "seconds"), Column("p90", "seconds")],
            [
                _durations("Time to claim", human.time_to_claim),
                _durations("Time to first response", human.time_to_first_response),
                _durations("Resolution time", human.resolution_time),
            ],
        ),
        Table(
            "queue", "Queue length over the day (UTC)",
            [Column("Hour", "text"), Column("Waiting, mean", "mean"), Column("Waiting, most")],
            [[f"{q.hour:02d}:00", q.mean, q.most] for q in board.queue],
        ),
        Table(
            "intents", "Per intent",
            [Column("Intent", "text"), Column("Volume"), Column("Answered by the bot"), Column("Handed off"),
             Column("Unneeded handoffs"), Column("Missed escalations")],
            [[i.intent, i.volume, i.answered, i.handed_off, i.unneeded_handoffs, i.missed_escalations]
             for i in board.intents],
        ),
        Table(
            "drift-alerts", "Drift alerts",
            [Column("Day", "text"), Column("Measure", "text"), Column("Intent", "text"), Column("Value", "mean3"),
             Column("Expected from", "mean3"), Column("Expected to", "mean3")],
            [[c.day.isoformat(), Measure(c.measure).label, c.detail, c.value, c.low, c.high]
             for c in board.drift_alerts],
        ),
    ]
