"""Approved examples as Rasa training data: the one writer of the YAML that a training adds to bot/data and that
a manager exports to commit (docs/tuning.md)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import yaml
from django.conf import settings

from tuning.models import TrainingExample

# Rasa 3's training-data format; the file reads with Rasa's own RasaYAMLReader.
RASA_FORMAT_VERSION = "3.1"


def nlu_yaml(examples: Iterable[TrainingExample]) -> str:
    """`version` + one `nlu:` item per intent, its examples as a block of `- text` lines, sorted for stable diffs."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example.text.replace("\n", " ").strip())
    nlu = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in sorted(set(texts)))}
        for intent, texts in sorted(by_intent.items())
    ]
    return yaml.dump(
        {"version": RASA_FORMAT_VERSION, "nlu": nlu}, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True
    )


def data_digest(examples_yaml: str) -> str:
    """SHA-256 of what a training learns from: bot/ as it is (config, domain, data/, and triage/, whose screen is
    learnt into the model) and the examples added."""
    bot = Path(settings.BOT_DIR)
    digest = hashlib.sha256()
    learnt = [*sorted((bot / "data").rglob("*.yml")), *sorted((bot / "triage").rglob("*.yml"))]
    for path in [bot / "config.yml", bot / "domain.yml", *learnt]:
        digest.update(f"{path.relative_to(bot)}\0".encode())
        digest.update(path.read_bytes() + b"\0")
    digest.update(examples_yaml.encode())
    return digest.hexdigest()


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, as Rasa's own files write `examples`."""


def _block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockDumper.add_representer(str, _block)
