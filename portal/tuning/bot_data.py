"""What the bot's project as committed (settings.BOT_DIR) says: the intents of its domain, the examples of its
training data, the texts of its held-out test sets, which must never be trained on, and the topics its bank
policy always hands to a person.

Read from the files, not the running Rasa: the inbox must work when the bot is down, and the held-out sets live
only in the repository. Each read is kept until one of its files changes.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import yaml
from django.conf import settings

# Set by the safety screen (bot/components/sensitive_screen.py), never by the classifier: not a label to train.
SCREEN_INTENT = "sensitive_screen"
OUT_OF_SCOPE_INTENT = "out_of_scope"
FALLBACK_INTENT = "nlu_fallback"  # Rasa's: below its threshold, the message was not understood

# Rasa's inline entity annotations, `[text](entity)` or `[text]{"entity": …}`: the example's text is `text`.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_SPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    """The form two texts are compared in: a duplicate or a held-out text differs only in case and spacing."""
    return _SPACE.sub(" ", _ANNOTATION.sub(r"\1", text)).strip().casefold()


def domain_intents() -> list[str]:
    """The intents a message may be labelled with: the domain's, less the safety screen's."""
    return [intent for intent in _domain_intents(*_stamp([_bot_dir() / "domain.yml"])) if intent != SCREEN_INTENT]


def committed_examples() -> dict[str, str]:
    """{normalized text: intent} of every example in bot/data/nlu/*.yml."""
    return _committed_examples(*_stamp(sorted((_bot_dir() / "data" / "nlu").glob("*.yml"))))


def heldout_texts() -> frozenset[str]:
    """The normalized texts of every held-out set, bot/tests/heldout*.csv (a new set is held out once it
    lands)."""
    return _heldout_texts(*_stamp(sorted((_bot_dir() / "tests").glob("heldout*.csv"))))


def handoff_topics() -> frozenset[str]:
    """The bank policy's `handoff_topics` (settings.BANK_POLICY_FILE, the file the bot answers from): the
    intents the bot always hands to a person."""
    return _handoff_topics(*_stamp([Path(settings.BANK_POLICY_FILE)]))


def _bot_dir() -> Path:
    return Path(settings.BOT_DIR)


def _stamp(paths: list[Path]) -> tuple[tuple[Path, int], ...]:
    """The paths with their modification times: the key a cached read is kept under."""
    return tuple((path, path.stat().st_mtime_ns) for path in paths)


@functools.lru_cache(maxsize=4)
def _domain_intents(*files: tuple[Path, int]) -> list[str]:
    ((path, _),) = files
    intents = (yaml.safe_load(path.read_text()) or {}).get("intents") or []
    # An intent may carry options (`- greet: {use_entities: []}`): its name is the key.
    return [next(iter(item)) if isinstance(item, dict) else str(item) for item in intents]


@functools.lru_cache(maxsize=4)
def _committed_examples(*files: tuple[Path, int]) -> dict[str, str]:
    examples: dict[str, str] = {}
    for path, _ in files:
        for item in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            if "intent" in item and isinstance(item.get("examples"), str):
                for line in item["examples"].splitlines():
                    if line.strip().startswith("- "):
                        examples[normalized(line.strip()[2:])] = item["intent"]
    return examples


@functools.lru_cache(maxsize=4)
def _handoff_topics(*files: tuple[Path, int]) -> frozenset[str]:
    ((path, _),) = files
    return frozenset((yaml.safe_load(path.read_text(encoding="utf-8")) or {})["handoff_topics"])


@functools.lru_cache(maxsize=4)
def _heldout_texts(*files: tuple[Path, int]) -> frozenset[str]:
    texts: set[str] = set()
    for path, _ in files:
        with path.open(newline="") as rows:
            texts.update(normalized(row["text"]) for row in csv.DictReader(rows))
    return frozenset(texts)
