"""What the bank's policy says a person must handle, read from the file the bot answers from."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings

FALLBACK_INTENT = "nlu_fallback"
# Turns that answer no question (small talk, a refusal, a fallback): never counted as the bot's answer that a
# customer's later request for a person proves wrong.
NOT_AN_ANSWER = frozenset(
    {"greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny", "inform", "out_of_scope", FALLBACK_INTENT}
)


@lru_cache(maxsize=4)
def _handoff_topics(path: Path) -> frozenset[str]:
    with path.open(encoding="utf-8") as policy_file:
        return frozenset(yaml.safe_load(policy_file)["handoff_topics"])


def handoff_topics() -> frozenset[str]:
    """bank_policy.yml's `handoff_topics`: the intents the bot always hands to a person."""
    return _handoff_topics(Path(settings.BANK_POLICY_FILE))
