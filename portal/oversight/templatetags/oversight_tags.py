"""How the dashboard shows a cell of each kind (tables.Column.kind); the CSV keeps the raw value."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def cell(value: object, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate" and isinstance(value, float):
        return f"{value:.1%}"
    if kind == "mean" and isinstance(value, float):
        return f"{value:.1f}"
    if kind == "mean3" and isinstance(value, float):
        return f"{value:.3f}"
    if kind == "seconds" and isinstance(value, float):
        return _duration(value)
    return str(value)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
