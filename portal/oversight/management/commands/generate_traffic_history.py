"""`manage.py generate_traffic_history [--days 365] [--per-day 260] [--seed 1] [--end YYYY-MM-DD]
[--drift-days 75,160,245,320]`: a synthetic history of the bot's traffic, with drift injected on the days it prints
(oversight/synthetic.py, docs/oversight.md). Refuses a database that holds real conversations unless
`--allow-real-data`; `--replace` erases an earlier generated history first."""

from __future__ import annotations

import time
from dataclasses import replace as replace_day
from datetime import date, datetime, timedelta, timezone as dt_timezone
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from oversight import synthetic
from oversight.synthetic import Plan, Written


class Command(BaseCommand):
    help = "Generate a synthetic year of the bot's traffic, with drift on known days, for the dashboard."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--per-day", type=int, default=260, help="conversations on an ordinary weekday")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--end", type=date.fromisoformat, default=None, help="the day after the last (default today, UTC)")
        parser.add_argument(
            "--drift-days",
            type=lambda text: tuple(int(day) for day in text.split(",")),
            default=tuple(drift.day for drift in synthetic.DRIFTS),
            help="the days (after the first) of the four injected drifts, in order: "
            + ", ".join(drift.kind for drift in synthetic.DRIFTS)
            + f" (default {','.join(str(drift.day) for drift in synthetic.DRIFTS)})",
        )
        parser.add_argument("--replace", action="store_true", help="erase an earlier generated history first")
        parser.add_argument(
            "--allow-real-data", action="store_true", help="write beside conversations that were not generated"
        )

    def handle(
        self, *args: Any, days: int, per_day: int, seed: int, end: date | None, drift_days: tuple[int, ...],
        replace: bool, allow_real_data: bool, **options: Any
    ) -> None:
        if days < 1 or per_day < 1:
            raise CommandError("--days and --per-day must be at least 1")
        if len(drift_days) != len(synthetic.DRIFTS):
            raise CommandError(f"--drift-days names {len(synthetic.DRIFTS)} days, one for each kind of drift")
        if (real := synthetic.other_conversations()) and not allow_real_data:
            raise CommandError(
                f"this database holds {real} conversations that were not generated: a synthetic history would mix "
                "with them in every figure. Use an empty database, or --allow-real-data if you mean it."
            )
        if synthetic.synthetic_conversations():
            if not replace:
                raise CommandError("a generated history is here already: --replace erases it first")
            self.stdout.write(f"erased {synthetic.erase_synthetic()} generated conversations")
        last = end or datetime.now(dt_timezone.utc).date()
        drifts = tuple(replace_day(drift, day=day) for drift, day in zip(synthetic.DRIFTS, drift_days))
        plan = Plan(first=last - timedelta(days=days), days=days, per_day=per_day, seed=seed, drifts=drifts)
        self.stdout.write(f"generating {plan.first} .. {last - timedelta(days=1)} (seed {seed}); drift injected on:")
        for day, drift in plan.drift_dates():
            self.stdout.write(f"  {day}  {drift.kind}: {drift.description}")
        began = time.monotonic()

        def progress(day: date, written: Written) -> None:
            if day.day == 1:
                self.stdout.write(f"  {day:%Y-%m} …  ({time.monotonic() - began:.0f} s)")

        total = synthetic.generate(plan, progress)
        self.stdout.write(
            f"wrote {total.conversations} conversations, {total.messages} messages, {total.nlu_records} NLU records, "
            f"{total.handoffs} handoffs in {time.monotonic() - began:.0f} s"
        )
