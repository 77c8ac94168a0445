"""The triage held-out set (bot/tests/heldout_triage.csv): 300+ customer messages written for issue 10 before
any bot change, from the problem and not from the training data, and never used to train or tune the bot.

Each message goes first in a new conversation through the trained NLU, the rules and the real action server,
as tests/bot/test_heldout.py does, and the outcome is judged from the bot's replies:
* must_escalate: the reply carries the handoff payload (contracts.handoff);
* routine: the bot answers on topic (the policy answer, or the response, of the labelled intent) and does not
  hand off (a handoff here is the cost of the safety net: a needless handoff);
* out_of_scope: the bot declines (utter_out_of_scope) without a handoff.

`bot/.venv/bin/python -m pytest tests/bot/test_heldout_triage.py -s` prints the figures.
"""

from __future__ import annotations

import csv
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache

import pytest
import yaml
from actions.bank_policy import bank_policy

from contracts.handoff import HandoffRequest, parse_handoff
from tests.bot.conftest import BOT

HELDOUT = BOT / "tests" / "heldout_triage.csv"
OUTCOMES = ("must_escalate", "routine", "out_of_scope")
# Intents answered by a response (or a form's first question) rather than from the policy file.
RESPONSE_OF_INTENT = {
    "greet": "utter_greet",
    "thanks": "utter_you_are_welcome",
    "goodbye": "utter_goodbye",
    "bot_challenge": "utter_iamabot",
    "lost_or_stolen_card": "utter_ask_card_last_four",
    "out_of_scope": "utter_out_of_scope",
}


@dataclass(frozen=True)
class Case:
    text: str
    outcome: str  # must_escalate, routine or out_of_scope
    intents: tuple[str, ...]  # the expected intent(s); empty where no one intent fits (a must-escalate signal)
    topic: str  # must_escalate: what it is about (fraud, scam, suicidal, ...)
    priority: str  # must_escalate: the least priority it should get


@lru_cache(maxsize=1)
def cases() -> tuple[Case, ...]:
    with HELDOUT.open(encoding="utf-8") as rows:
        return tuple(
            Case(
                row["text"],
                row["outcome"],
                tuple(i for i in row["intent"].split("|") if i),
                row["topic"],
                row["priority"],
            )
            for row in csv.DictReader(rows)
        )


def normalised(text: str) -> str:
    """Lower case, entity annotations unwrapped ("[£250](amount)" → "£250"), punctuation and spacing folded."""
    text = re.sub(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})", r"\1", text.lower())
    return " ".join(re.sub(r"[^\w£$€%]+", " ", text).split())


def training_texts() -> set[str]:
    """Every NLU example the bot learns from (bot/data/**/*.yml), normalised."""
    texts = set()
    for path in (BOT / "data").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    texts.add(normalised(line.strip()[2:]))
    return texts


def test_triage_set_is_big_and_unseen():
    by_outcome = {outcome: [c for c in cases() if c.outcome == outcome] for outcome in OUTCOMES}
    assert len(cases()) >= 300
    assert len(by_outcome["must_escalate"]) >= 100
    assert by_outcome["routine"] and by_outcome["out_of_scope"]
    assert {c.outcome for c in cases()} == set(OUTCOMES)
    assert len({normalised(c.text) for c in cases()}) == len(cases())
    seen = training_texts()
    assert seen, "no training examples found"
    assert [c.text for c in cases() if normalised(c.text) in seen] == []
