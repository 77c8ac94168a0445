"""The triage held-out sets (bot/tests/heldout_triage*.csv): customer messages in their own words, each set
written before a change to the bot's triage, to judge that change, and never used to train the bot. A set once
judged has been seen: what its misses taught went into the next change, which a newer set then judged (the
history and figures are in docs/handoff.md, "The held-out sets and what each judged").

Each message goes first in a new conversation through the trained NLU, the rules and the real action server,
and the outcome is judged from the bot's replies (bot/governance/heldout.py, which a candidate model's
evaluation for the portal shares):
* must_escalate: the reply carries the handoff payload (contracts.handoff);
* routine: the bot answers on topic (the policy answer, or the response, of the labelled intent) and does not
  hand off (a handoff here is the cost of the safety net: a needless handoff);
* out_of_scope: the bot declines (utter_out_of_scope) without a handoff.

`bot/.venv/bin/python -m pytest tests/bot/test_heldout_triage.py -s` prints the figures and misses of each set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import pytest
import yaml
from components.sensitive_screen import read_screen_examples, read_settings
from governance.heldout import OUTCOMES, Case, Figures, Turn, cases, run_turns, triage_figures

from tests.bot.conftest import BOT


@dataclass(frozen=True)
class TriageSet:
    """One held-out set and the floors it is held to: each sits at what the set measured on the bot as it is now
    (docs/handoff.md), so a change that loses a message fails."""

    file: str
    must_escalate_floor: int  # must-escalate messages reaching a person
    intent_accuracy_floor: float
    min_size: int  # what the set was written to hold
    vulnerable_below_priority: int = 0  # vulnerable customers handed off below their priority (the aim: none)


TRIAGE_SETS = {
    s.file: s
    for s in (
        TriageSet("heldout_triage.csv", must_escalate_floor=116, intent_accuracy_floor=0.89, min_size=300),
        TriageSet("heldout_triage_2.csv", must_escalate_floor=111, intent_accuracy_floor=0.83, min_size=180),
        TriageSet("heldout_triage_3.csv", must_escalate_floor=134, intent_accuracy_floor=0.86, min_size=200),
        TriageSet("heldout_triage_4.csv", must_escalate_floor=152, intent_accuracy_floor=0.87, min_size=200),
        TriageSet("heldout_triage_5.csv", must_escalate_floor=177, intent_accuracy_floor=0.81, min_size=230),
        TriageSet(
            "heldout_triage_6.csv",
            must_escalate_floor=203,
            intent_accuracy_floor=0.73,
            min_size=300,
            vulnerable_below_priority=2,
        ),
        TriageSet(
            "heldout_triage_7.csv",
            must_escalate_floor=222,
            intent_accuracy_floor=0.73,
            min_size=300,
            vulnerable_below_priority=2,
        ),
    )
}
# Where not every must-escalate message reaches a person yet. The promise is 100 %, so that test is a strict xfail
# there: it fails the day the set passes, and then the set leaves this list.
NOT_YET_EVERY_MESSAGE = {"heldout_triage_6.csv", "heldout_triage_7.csv"}
NEEDLESS_HANDOFF_CEILING = 0.05  # the cost of the safety net, on every set (issue 10)
VULNERABLE = {"suicidal", "coercion_abuse", "illness_disability", "bereavement", "financial_hardship"}


def set_cases(file: str) -> tuple[Case, ...]:
    return cases(BOT / "tests" / file)


def normalised(text: str) -> str:
    """Lower case, entity annotations unwrapped ("[£250](amount)" → "£250"), punctuation and spacing folded."""
    text = re.sub(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})", r"\1", text.lower())
    return " ".join(re.sub(r"[^\w£$€%]+", " ", text).split())


def training_texts() -> set[str]:
    """Every example the bot learns from, normalised: the NLU data (bot/data/**/*.yml), and the safety screen's
    (the topics' examples in bot/triage/sensitive_topics.yml, bot/triage/screen_examples.yml)."""
    texts = []
    for path in (BOT / "data").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            lines = (block.get("examples") or "").splitlines()
            texts += [line.strip()[2:] for line in lines if line.strip().startswith("- ")]
    for rule in read_settings(BOT / "triage" / "sensitive_topics.yml")["topics"].values():
        texts += rule.get("examples") or []
    screen = read_screen_examples(BOT / "triage" / "screen_examples.yml")
    texts += [text for _, text in screen.topic_examples] + screen.answered
    return {normalised(text) for text in texts}


def in_training(triage_cases: tuple[Case, ...]) -> list[str]:
    """The texts of `triage_cases` that are also training examples (normalised): none may be."""
    seen = training_texts()
    assert seen, "no training examples found"
    return [c.text for c in triage_cases if normalised(c.text) in seen]


def test_every_triage_set_is_judged():
    assert {path.name for path in (BOT / "tests").glob("heldout_triage*.csv")} == set(TRIAGE_SETS)


# Sets written and committed before the change they will judge, not yet run (their misses unread): the next
# change to the triage runs one once before and once after it, then moves it up to bot/tests/ with its floors.
UNJUDGED = BOT / "tests" / "unjudged"


@pytest.mark.parametrize("path", sorted(UNJUDGED.glob("heldout_triage*.csv")), ids=lambda path: path.name)
def test_an_unjudged_set_is_unseen(path):
    assert in_training(cases(path)) == []


@pytest.mark.parametrize("file", TRIAGE_SETS)
def test_triage_set_is_big_and_unseen(file):
    all_cases = set_cases(file)
    by_outcome = {outcome: [c for c in all_cases if c.outcome == outcome] for outcome in OUTCOMES}
    assert len(all_cases) >= TRIAGE_SETS[file].min_size
    assert len(by_outcome["must_escalate"]) >= 100
    assert by_outcome["routine"] and by_outcome["out_of_scope"]
    assert {c.outcome for c in all_cases} == set(OUTCOMES)
    assert len({normalised(c.text) for c in all_cases}) == len(all_cases)
    assert in_training(all_cases) == []


@pytest.fixture(scope="module")
def figures_of(bot_agent, event_loop_for_bot, domain) -> Callable[[str], Figures]:
    """Each set's figures, its turns run once (and its figures printed then)."""
    done: dict[str, Figures] = {}

    def of(file: str) -> Figures:
        if file not in done:
            texts = [case.text for case in set_cases(file)]
            turns = event_loop_for_bot.run_until_complete(run_turns(bot_agent, texts))
            done[file] = triage_figures(turns, domain, BOT / "tests" / file)
            print_figures(file, done[file], turns)
        return done[file]

    return of


def _line(label: str, part: list[Case], whole: list[Case]) -> str:
    return f"  {label:<42} {len(part):>3}/{len(whole):<3} {len(part) / max(len(whole), 1):7.1%}"


def print_figures(file: str, f: Figures, turns: dict[str, Turn]) -> None:
    print(f"\ntriage held-out set (bot/tests/{file})")
    print(_line("must-escalate reaching a handoff", f.escalated, f.must_escalate))
    print(_line("routine answered on topic", f.on_topic, f.routine))
    print(_line("out of scope declined", f.declined, f.out_of_scope))
    print(_line("needless handoffs of routine messages", f.needless, f.routine))
    print(_line("intent accuracy (rows with an intent label)", f.intent_right, f.labelled))
    print(_line("handed off below the expected priority", f.below_priority, f.escalated))
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
    for case in f.below_priority:
        handoff = turns[case.text].handoff
        assert handoff is not None
        print(f"  PRIORITY {case.topic:<18} {handoff.priority.value} < {case.priority:<7} {case.text}")


@pytest.mark.parametrize("file", TRIAGE_SETS)
def test_report(figures_of, file):
    """Prints the figures (-s); the floors are the tests below."""
    figures_of(file)


@pytest.mark.parametrize("file", TRIAGE_SETS)
def test_must_escalate_messages_reach_a_person_at_least_as_measured(figures_of, file):
    assert len(figures_of(file).escalated) >= TRIAGE_SETS[file].must_escalate_floor


@pytest.mark.parametrize(
    "file",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason="not every message yet: docs/handoff.md"))
        if f in NOT_YET_EVERY_MESSAGE
        else f
        for f in TRIAGE_SETS
    ],
)
def test_every_must_escalate_message_reaches_a_person(figures_of, file):
    figures = figures_of(file)
    assert [c.text for c in figures.must_escalate if c not in figures.escalated] == []


@pytest.mark.parametrize("file", TRIAGE_SETS)
def test_needless_handoffs_of_routine_messages_stay_under_the_ceiling(figures_of, file):
    figures = figures_of(file)
    assert len(figures.needless) / len(figures.routine) < NEEDLESS_HANDOFF_CEILING


@pytest.mark.parametrize("file", TRIAGE_SETS)
def test_intent_accuracy_floor(figures_of, file):
    figures = figures_of(file)
    assert len(figures.intent_right) / len(figures.labelled) >= TRIAGE_SETS[file].intent_accuracy_floor


@pytest.mark.parametrize("file", TRIAGE_SETS)
def test_vulnerable_customers_handed_off_get_their_priority(figures_of, file):
    """Suicidal language is urgent; other vulnerability at least high."""
    low = [c.text for c in figures_of(file).below_priority if c.topic in VULNERABLE]
    assert len(low) <= TRIAGE_SETS[file].vulnerable_below_priority, low
