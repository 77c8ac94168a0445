"""Template helpers of the managers' pages."""

from __future__ import annotations

from typing import Any

from django import template

from contracts.redaction import mask_personal_data

register = template.Library()


@register.filter
def masked(text: str) -> str:
    """Personal data masked on display too: a text stored before a masking rule existed is masked now."""
    return mask_personal_data(text)


@register.filter
def took(training: Any) -> str:
    """How long a finished training ran, to the second ("1 min 12 s"); "" while it runs."""
    if not (training.started_at and training.finished_at):
        return ""
    minutes, seconds = divmod(round((training.finished_at - training.started_at).total_seconds()), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
