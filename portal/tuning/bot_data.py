"""What the bot's project as committed (settings.BOT_DIR) says: the examples of its training data, the texts of its
held-out test sets, which must never be trained on, and the topics its bank policy always hands to a person (the
intents of its domain: bot_gateway/domain.py, which agents' labels read too).

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

from bot_gateway.domain import file_stamps

OUT_OF_SCOPE_INTENT = "out_of_scope"
FALLBACK_INTENT = "nlu_fallback"  # Rasa's: below its threshold, the message was not understood

# Rasa's inline entity annotations, `[text](entity)` or `[text]{"entity": …}`: the example's text is `text`.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_SPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    """The form two texts are compared in: a duplicate or a held-out text differs only in case and spacing."""
    return _SPACE.sub(" ", _ANNOTATION.sub(r"\1", text)).strip().casefold()


def committed_examples() -> dict[str, str]:
    """{normalized text: intent} of every example in bot/data/nlu/*.yml."""
    return _committed_examples(*file_stamps(sorted((_bot_dir() / "data" / "nlu").glob("*.yml"))))


def heldout_texts() -> frozenset[str]:
    """The normalized texts of every held-out set, bot/tests/heldout*.csv (a new set is held out once it
    lands)."""
    return _heldout_texts(*file_stamps(sorted((_bot_dir() / "tests").glob("heldout*.csv"))))


def handoff_topics() -> frozenset[str]:
    """The bank policy's `handoff_topics` (settings.BANK_POLICY_FILE, the file the bot answers from): the
    intents the bot always hands to a person."""
    return _handoff_topics(*file_stamps([Path(settings.BANK_POLICY_FILE)]))


def fallback_thresholds() -> tuple[float, dict[str, float]]:
    """The bot's fallback thresholds as committed: the global one (the fallback classifier's `threshold` in
    config.yml) and the intents' own (triage/intent_thresholds.yml). Below its threshold a reading is
    `nlu_fallback`."""
    return _fallback_thresholds(
        *file_stamps([_bot_dir() / "config.yml", _bot_dir() / "triage" / "intent_thresholds.yml"])
    )


def _bot_dir() -> Path:
    return Path(settings.BOT_DIR)


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
def _fallback_thresholds(*files: tuple[Path, int]) -> tuple[float, dict[str, float]]:
    (config, _), (per_intent, _) = files
    pipeline = (yaml.safe_load(config.read_text()) or {}).get("pipeline") or []
    (classifier,) = [c for c in pipeline if str(c.get("name", "")).endswith("FallbackClassifier")]
    thresholds = (yaml.safe_load(per_intent.read_text()) or {}).get("thresholds") or {}
    return float(classifier["threshold"]), {str(k): float(v) for k, v in thresholds.items()}


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
