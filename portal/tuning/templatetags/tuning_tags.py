"""Template helpers of the managers' pages."""

from __future__ import annotations

from django import template

from contracts.redaction import mask_personal_data

register = template.Library()


@register.filter
def masked(text: str) -> str:
    """Personal data masked on display too: a text stored before a masking rule existed is masked now."""
    return mask_personal_data(text)
