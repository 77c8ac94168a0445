"""SQL pieces the dashboard's selectors share, on PostgreSQL and on SQLite (the embedded default)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, Expression, FloatField, Func, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.db.backends.base.base import BaseDatabaseWrapper


class Seconds(Func):
    """`end - start` in seconds, as a float."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, Sequence[Any]]:
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision", arg_joiner=" - ")

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[str | int, ...]]:
        # Stored as ISO text: julianday() reads it; its double keeps microseconds at today's dates.
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)", arg_joiner=") - julianday("
        )


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(f) WITHIN GROUP (ORDER BY x)`: the linearly interpolated percentile."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Expression, fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"a fraction is within [0, 1], not {fraction}")
        super().__init__(expression, fraction=repr(float(fraction)))


def interpolated(ordered: Sequence[float], fraction: float) -> float | None:
    """What percentile_cont gives for `fraction` over these values, sorted ascending (None for no values)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def distribution(rows: QuerySet[Any], value: Expression, fractions: Sequence[float]) -> tuple[int, list[float | None]]:
    """How many of `rows` have a `value` (nulls are left out), and its percentiles, in one query on PostgreSQL;
    on SQLite, which has no percentile, from the sorted values."""
    rows = rows.annotate(_value=value).filter(_value__isnull=False)
    if connection.vendor == "postgresql":
        found = rows.aggregate(
            count=Count("pk"), **{f"p{i}": PercentileCont(value, f) for i, f in enumerate(fractions)}
        )
        return found["count"], [found[f"p{i}"] for i in range(len(fractions))]
    ordered = list(rows.order_by("_value").values_list("_value", flat=True))
    return len(ordered), [interpolated(ordered, f) for f in fractions]
