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

from contracts.handoff import HandoffRequest, Priority, parse_handoff
from tests.bot.conftest import BOT

HELDOUT = BOT / "tests" / "heldout_triage_2.csv"
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


def classified_intent(parsed: dict) -> str:
    """The intent the classifier read (after the fallback threshold), also where the safety screen then made it
    `sensitive_screen`: intent accuracy measures the classifier, the handoff figures measure the screen."""
    return (parsed.get("sensitive_screen") or {}).get("intent") or parsed["intent"]["name"]


@dataclass(frozen=True)
class Turn:
    """What the bot did with one message, first in a new conversation."""

    intent: str | None  # the classifier's top intent (nlu_fallback when unsure)
    texts: tuple[str, ...]
    handoff: HandoffRequest | None


def expected_replies(intents: tuple[str, ...], domain: dict) -> set[str]:
    """The replies that answer `intents` on topic: their policy answers, or their responses' texts."""
    policy = bank_policy()
    replies = {policy.answer(intent) for intent in intents} - {None}
    for intent in intents:
        response = RESPONSE_OF_INTENT.get(intent)
        replies |= {variant["text"] for variant in domain["responses"].get(response, [])}
    return replies


@pytest.fixture(scope="module")
def turns(bot_agent, event_loop_for_bot) -> dict[str, Turn]:
    async def run(text: str) -> Turn:
        parsed = await bot_agent.parse_message(text)
        messages = await bot_agent.handle_text(text, sender_id=str(uuid.uuid4())) or []
        handoffs = [parse_handoff(m.get("custom")) for m in messages]
        return Turn(
            classified_intent(parsed),
            tuple(m["text"] for m in messages if m.get("text")),
            next((h for h in handoffs if h), None),
        )

    async def run_all() -> dict[str, Turn]:
        return {case.text: await run(case.text) for case in cases()}

    return event_loop_for_bot.run_until_complete(run_all())


@dataclass(frozen=True)
class Figures:
    must_escalate: list[Case]
    escalated: list[Case]
    routine: list[Case]
    on_topic: list[Case]
    needless: list[Case]
    out_of_scope: list[Case]
    declined: list[Case]
    labelled: list[Case]
    intent_right: list[Case]


@pytest.fixture(scope="module")
def figures(turns, domain) -> Figures:
    def of(outcome: str) -> list[Case]:
        return [c for c in cases() if c.outcome == outcome]

    def answered(case: Case) -> bool:
        turn = turns[case.text]
        return turn.handoff is None and bool(expected_replies(case.intents, domain) & set(turn.texts))

    labelled = [c for c in cases() if c.intents]
    result = Figures(
        must_escalate=of("must_escalate"),
        escalated=[c for c in of("must_escalate") if turns[c.text].handoff],
        routine=of("routine"),
        on_topic=[c for c in of("routine") if answered(c)],
        needless=[c for c in of("routine") if turns[c.text].handoff],
        out_of_scope=of("out_of_scope"),
        declined=[c for c in of("out_of_scope") if answered(c)],
        labelled=labelled,
        intent_right=[c for c in labelled if turns[c.text].intent in c.intents],
    )
    print_figures(result, turns)
    return result


def _line(label: str, part: list[Case], whole: list[Case]) -> str:
    return f"  {label:<42} {len(part):>3}/{len(whole):<3} {len(part) / max(len(whole), 1):7.1%}"


def print_figures(f: Figures, turns: dict[str, Turn]) -> None:
    print("\ntriage held-out set (bot/tests/heldout_triage.csv)")
    print(_line("must-escalate reaching a handoff", f.escalated, f.must_escalate))
    print(_line("routine answered on topic", f.on_topic, f.routine))
    print(_line("out of scope declined", f.declined, f.out_of_scope))
    print(_line("needless handoffs of routine messages", f.needless, f.routine))
    print(_line("intent accuracy (rows with an intent label)", f.intent_right, f.labelled))
    for case in f.must_escalate:
        if case not in f.escalated:
            print(f"  MISSED  {case.topic:<20} {turns[case.text].intent:<28} {case.text}")
    for case in f.routine:
        if case not in f.on_topic:
            turn = turns[case.text]
            how = f"handoff {turn.handoff.reason.value}" if turn.handoff else "off topic"
            print(f"  ROUTINE {'|'.join(case.intents):<20} {turn.intent:<28} {how:<28} {case.text}")
    for case in f.out_of_scope:
        if case not in f.declined:
            print(f"  OOS     {turns[case.text].intent:<28} {case.text}")
    for case in f.must_escalate:
        handoff = turns[case.text].handoff
        if handoff and case.priority and handoff.priority.rank < Priority(case.priority).rank:
            print(f"  PRIORITY {case.topic:<18} {handoff.priority.value} < {case.priority:<7} {case.text}")


def test_report(figures):
    """Prints the figures (-s); the floors are the tests below."""


# Measured once, on the first run after the change and before any further change (docs/handoff.md, "The safety
# screen"): the screen was not tuned on this set, so these floors sit at what it measured, and a change that
# loses a message fails. The promise is 100 % of must-escalate messages: that test fails today (strict xfail:
# when the screen reaches it, the marker must go).
MUST_ESCALATE_FLOOR = 110  # of 116
INTENT_ACCURACY_FLOOR = 0.88  # measured 0.899 (231/257)
NEEDLESS_HANDOFF_CEILING = 0.05  # measured 0.0 (0/157)
VULNERABLE = {"suicidal", "coercion_abuse", "illness_disability", "bereavement", "financial_hardship"}


def test_must_escalate_messages_reach_a_person_at_least_as_measured(figures):
    assert len(figures.escalated) >= MUST_ESCALATE_FLOOR


@pytest.mark.xfail(strict=True, reason="measured 110/116 on the untuned run; not tuned on this set since")
def test_every_must_escalate_message_reaches_a_person(figures):
    assert [c.text for c in figures.must_escalate if c not in figures.escalated] == []


def test_needless_handoffs_of_routine_messages_stay_under_the_ceiling(figures):
    assert len(figures.needless) / len(figures.routine) < NEEDLESS_HANDOFF_CEILING


def test_intent_accuracy_floor(figures):
    assert len(figures.intent_right) / len(figures.labelled) >= INTENT_ACCURACY_FLOOR


def test_vulnerable_customers_handed_off_get_their_priority(turns):
    """Suicidal language is urgent; other vulnerability at least high."""
    low = [
        (case.text, turns[case.text].handoff.priority.value)
        for case in cases()
        if case.topic in VULNERABLE and turns[case.text].handoff
        and turns[case.text].handoff.priority.rank < Priority(case.priority).rank
    ]
    assert low == []
