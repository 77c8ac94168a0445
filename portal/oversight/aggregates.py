"""SQL pieces the dashboard's selectors share, on PostgreSQL and on SQLite (the embedded default)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Expression, FloatField, Func, QuerySet
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


def interpolated(ordered: Sequence[float], fraction: float) -> float | None:
    """What PostgreSQL's percentile_cont (linear interpolation) gives for `fraction` over these values, sorted
    ascending (None for no values)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def distribution(rows: QuerySet[Any], value: Expression, fractions: Sequence[float]) -> tuple[int, list[float | None]]:
    """How many of `rows` have a `value` (nulls are left out), and its percentiles. On PostgreSQL one query over
    the values selected once: aggregating the expression itself would compute it again for the count and for
    each percentile (a correlated subquery three times over). On SQLite, which has no percentile, from the sorted
    values."""
    values = rows.annotate(_value=value).values_list("_value")
    if connection.vendor == "postgresql":  # count() and percentile_cont() leave the nulls out themselves
        inner, params = values.query.sql_with_params()  # Django's own SQL, its parameters kept apart
        percentile = "percentile_cont(%s) WITHIN GROUP (ORDER BY v)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(v), {', '.join([percentile] * len(fractions))} FROM ({inner}) AS found (v)",
                (*[float(f) for f in fractions], *params),
            )
            count, *found = cursor.fetchone() or (0,)
        return count, list(found)
    ordered = [v for (v,) in values.filter(_value__isnull=False).order_by("_value")]
    return len(ordered), [interpolated(ordered, f) for f in fractions]
