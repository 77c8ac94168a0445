"""The held-out sets and how a trained model is judged on them: each message first in a new conversation
through the trained NLU, the rules and the real action server, the outcome read from the bot's replies.

* bot/tests/heldout.csv: messages written differently from the training data, labelled with their intent;
  those of the bank policy's handoff topics must reach a person.
* bot/tests/heldout_triage.csv: customer messages written for the triage issue, each with its outcome:
  must_escalate (the reply carries the handoff payload), routine (answered on topic, no handoff: a handoff is
  needless) or out_of_scope (declined, no handoff).

Shared by the bot's tests (tests/bot/test_heldout*.py: the floors) and a candidate's evaluation
(governance/candidate.py: the figures the portal's gate compares), so both judge the same way.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.bank_policy import bank_policy

from contracts.customer import CUSTOMER_ID_METADATA_KEY
from contracts.handoff import HandoffRequest, Priority, parse_handoff

if TYPE_CHECKING:
    from rasa.core.agent import Agent

BOT = Path(__file__).resolve().parents[1]
HELDOUT = BOT / "tests" / "heldout.csv"
TRIAGE = BOT / "tests" / "heldout_triage.csv"
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


def heldout() -> list[tuple[str, str]]:
    """(text, intent) of bot/tests/heldout.csv."""
    with HELDOUT.open(encoding="utf-8") as rows:
        return [(row["text"], row["intent"]) for row in csv.DictReader(rows)]


def escalation_intents() -> frozenset[str]:
    """The bank policy's handoff topics: intents the bot always hands to a person."""
    return frozenset(bank_policy().handoff_topics)


@dataclass(frozen=True)
class Case:
    text: str
    outcome: str  # must_escalate, routine or out_of_scope
    intents: tuple[str, ...]  # the expected intent(s); none where no one intent fits (a must-escalate signal)
    topic: str  # must_escalate: what it is about (fraud, scam, suicidal, ...)
    priority: str  # must_escalate: the least priority it should get


@lru_cache(maxsize=None)
def cases(triage_set: Path = TRIAGE) -> tuple[Case, ...]:
    """The cases of a triage set (bot/tests/heldout_triage*.csv; the first by default)."""
    with triage_set.open(encoding="utf-8") as rows:
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


def classified_intent(parsed: dict[str, Any]) -> str:
    """The intent the classifier read (after the fallback threshold), also where the safety screen then made
    it `sensitive_screen`: intent accuracy measures the classifier, the handoff figures measure the screen."""
    return (parsed.get("sensitive_screen") or {}).get("intent") or parsed["intent"]["name"]


def classified_confidence(parsed: dict[str, Any]) -> float:
    """The confidence of classified_intent: its entry in the ranking (the screen's flag goes first, 1.0)."""
    intent = classified_intent(parsed)
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") == intent]
    return float((ranking[0] if ranking else parsed["intent"]).get("confidence") or 0.0)


@dataclass(frozen=True)
class Turn:
    """What the bot did with one message, first in a new conversation."""

    intent: str  # the classifier's top intent (nlu_fallback when unsure)
    confidence: float
    texts: tuple[str, ...]
    handoff: HandoffRequest | None


async def run_turn(agent: Agent, text: str) -> Turn:
    """One message, as a customer the bank's site vouched for (the portal's metadata, contracts/customer.py):
    the triage is judged as on a signed-in bank site, where a lost card is the bot's to block (an anonymous
    customer's goes to a person whatever was said). Each a customer of its own, so no attempts add up."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    sender_id = str(uuid.uuid4())
    metadata = {CUSTOMER_ID_METADATA_KEY: f"heldout-{sender_id}"}
    message = UserMessage(text, CollectingOutputChannel(), sender_id, metadata=metadata)
    messages = await agent.handle_message(message) or []
    # The parse the turn acted on, as its tracker keeps it (the safety screen's finding included).
    tracker = await agent.tracker_store.retrieve(sender_id)
    parsed = tracker.latest_message.parse_data if tracker and tracker.latest_message else {}
    handoffs = [parse_handoff(m.get("custom")) for m in messages]
    return Turn(
        classified_intent(parsed),
        classified_confidence(parsed),
        tuple(m["text"] for m in messages if m.get("text")),
        next((h for h in handoffs if h), None),
    )


async def run_turns(
    agent: Agent, texts: Sequence[str], done: Callable[[], None] = lambda: None, at_once: int = 4
) -> dict[str, Turn]:
    """Each text's turn, a few conversations at once: one parses while another waits on the action server."""
    limit = asyncio.Semaphore(at_once)

    async def one(text: str) -> tuple[str, Turn]:
        async with limit:
            turn = await run_turn(agent, text)
        done()
        return text, turn

    return dict(await asyncio.gather(*(one(text) for text in texts)))


def expected_replies(intents: tuple[str, ...], domain: dict[str, Any]) -> set[str]:
    """The replies that answer `intents` on topic: their policy answers, or their responses' texts."""
    policy = bank_policy()
    replies = {answer for answer in (policy.answer(intent) for intent in intents) if answer}
    for intent in intents:
        response = RESPONSE_OF_INTENT.get(intent)
        replies |= {variant["text"] for variant in domain["responses"].get(response, [])}
    return replies


@dataclass(frozen=True)
class Figures:
    """The triage set's outcomes: each list holds the cases it counts."""

    must_escalate: list[Case]
    escalated: list[Case]
    routine: list[Case]
    on_topic: list[Case]
    needless: list[Case]
    out_of_scope: list[Case]
    declined: list[Case]
    labelled: list[Case]
    intent_right: list[Case]
    below_priority: list[Case]  # handed off, but below the least priority the set expects


def triage_figures(turns: dict[str, Turn], domain: dict[str, Any], triage_set: Path = TRIAGE) -> Figures:
    """The figures of a triage set from each case's turn (keyed by its text)."""

    def of(outcome: str) -> list[Case]:
        return [c for c in cases(triage_set) if c.outcome == outcome]

    def below_priority(case: Case) -> bool:
        handoff = turns[case.text].handoff
        return bool(handoff and case.priority and handoff.priority.rank < Priority(case.priority).rank)

    def answered(case: Case) -> bool:
        turn = turns[case.text]
        return turn.handoff is None and bool(expected_replies(case.intents, domain) & set(turn.texts))

    labelled = [c for c in cases(triage_set) if c.intents]
    return Figures(
        must_escalate=of("must_escalate"),
        escalated=[c for c in of("must_escalate") if turns[c.text].handoff],
        routine=of("routine"),
        on_topic=[c for c in of("routine") if answered(c)],
        needless=[c for c in of("routine") if turns[c.text].handoff],
        out_of_scope=of("out_of_scope"),
        declined=[c for c in of("out_of_scope") if answered(c)],
        labelled=labelled,
        intent_right=[c for c in labelled if turns[c.text].intent in c.intents],
        below_priority=[c for c in of("must_escalate") if below_priority(c)],
    )


# --- the model and the real action server, in this process ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"action server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"action server not healthy at {url} after {timeout} s")


@contextmanager
def action_server() -> Iterator[str]:
    """The real action server (bot/actions), as `./switchboard run` starts it, on a free port: its URL."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BOT), str(BOT.parent)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=BOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def load_agent(model: Path, actions_url: str) -> Agent:
    """The trained model loaded once in this process (Rasa's Agent), talking to the action server."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # as a library Rasa logs every parse and policy state at debug

    cwd = Path.cwd()
    os.chdir(BOT)  # the model's SpacyNLP loads "spacy_pipeline" relative to bot/, as under Rasa
    try:
        return Agent.load(str(model), action_endpoint=EndpointConfig(url=f"{actions_url}/webhook"))
    finally:
        os.chdir(cwd)
