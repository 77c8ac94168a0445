"""Full card numbers never travel past the first hop: they are masked to their last four digits.

The portal masks a customer's text before it stores it or sends it to the bot, and the bot's input channel
masks again before the text reaches the tracker store or a log, so neither side depends on the other for it.
"""

from __future__ import annotations

import re

# 13 to 19 digits, optionally grouped by single spaces or dashes: the shapes a card number (PAN) is typed in.
_CANDIDATE = re.compile(r"(?<![\d*])(?:\d[ -]?){12,18}\d(?!\d)")
MASK_PREFIX = "****"


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask(match: "re.Match[str]") -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    if not _luhn_valid(digits):
        return match.group(0)  # an account number or reference, not a card: leave it
    return MASK_PREFIX + digits[-4:]


def mask_card_numbers(text: str) -> str:
    """`text` with every card number (13-19 digits passing the Luhn check) replaced by `****` + its last four."""
    return _CANDIDATE.sub(_mask, text)
