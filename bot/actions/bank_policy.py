"""The bank's policy (bank_policy.yml) as typed lookups: answers, labels, handoff rules, limits.

Read on first use, not at import, and kept for the life of the action server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from re import Pattern
from typing import Any

import yaml

from contracts.handoff import HandoffReason, Priority

POLICY_FILE = Path(__file__).with_name("bank_policy.yml")


@dataclass(frozen=True)
class TopicHandoff:
    """How a topic the bot never resolves is handed over."""

    reason: HandoffReason
    priority: Priority
    note: str


@dataclass(frozen=True)
class BankPolicy:
    facts: dict[str, str]
    answers: dict[str, str]
    labels: dict[str, str]
    handoff_topics: dict[str, TopicHandoff]
    reason_priorities: dict[HandoffReason, Priority]
    repeated_fallback_limit: int
    card_verification_attempts: int
    card_verification_window_seconds: int  # how long a customer's wrong answers count against them
    bank_core_timeout_seconds: float
    frustration_pattern: Pattern[str]

    def answer(self, topic: str) -> str | None:
        """The answer to a routine topic, its figures filled in; None for a topic the policy has no answer to."""
        template = self.answers.get(topic)
        return template.format(**self.facts) if template else None

    def label(self, topic: str) -> str:
        return self.labels.get(topic, topic.replace("_", " "))

    def priority_for(self, reason: HandoffReason) -> Priority:
        return self.reason_priorities.get(reason, Priority.NORMAL)

    def sounds_frustrated(self, text: str) -> bool:
        return bool(self.frustration_pattern.search(text))


def _frustration_pattern(words: list[str]) -> Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


def parse_policy(raw: dict[str, Any]) -> BankPolicy:
    return BankPolicy(
        facts={key: str(value) for key, value in raw["facts"].items()},
        answers=dict(raw["answers"]),
        labels=dict(raw["labels"]),
        handoff_topics={
            topic: TopicHandoff(HandoffReason(rule["reason"]), Priority(rule["priority"]), rule["note"])
            for topic, rule in raw["handoff_topics"].items()
        },
        reason_priorities={HandoffReason(r): Priority(p) for r, p in raw["reason_priorities"].items()},
        repeated_fallback_limit=int(raw["repeated_fallback_limit"]),
        card_verification_attempts=int(raw["card_block"]["verification_attempts"]),
        card_verification_window_seconds=int(float(raw["card_block"]["verification_window_hours"]) * 3600),
        bank_core_timeout_seconds=float(raw["card_block"]["bank_core_timeout_seconds"]),
        frustration_pattern=_frustration_pattern(raw["frustration_words"]),
    )


@lru_cache(maxsize=1)
def bank_policy() -> BankPolicy:
    with POLICY_FILE.open(encoding="utf-8") as policy_file:
        return parse_policy(yaml.safe_load(policy_file))
