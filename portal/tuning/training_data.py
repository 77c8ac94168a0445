"""Approved examples as Rasa training data: the one writer of the YAML that a training adds to bot/data and that
a manager exports to commit (docs/tuning.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import yaml

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


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, as Rasa's own files write `examples`."""


def _block(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockDumper.add_representer(str, _block)
