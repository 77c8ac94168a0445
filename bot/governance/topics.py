"""New-intent discovery, in the bot's own Python: group the messages the bot did not understand by meaning, with
the bot's own sentence encoder, so a manager sees candidate topics rather than a list of misreadings.

    cd bot && .venv/bin/python -m governance.topics < MESSAGES.json > TOPICS.json

MESSAGES.json: {"messages": [{"id": int, "text": str}], "max_distance": float, "min_size": int}. The texts are
encoded (all-MiniLM-L6-v2, unit length) and clustered by average linkage on the cosine distance, cut where two
groups are further apart than `max_distance`; a group smaller than `min_size` is no topic. TOPICS.json:
{"version": 1, "topics": [{"members": [id], "exemplar": id, "cohesion": float, "nearest_intent": str,
"nearest_intent_similarity": float}]}, biggest first. `exemplar` is the member nearest the group's centre,
`cohesion` the members' mean cosine to that centre, `nearest_intent` the intent of the training example
(bot/data/nlu) nearest the centre: a topic near an intent may be that intent said another way, one far from every
intent a new one. The portal runs it (portal/oversight/topics.py) and docs/oversight.md says the rest.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import yaml
from scipy.cluster.hierarchy import fcluster, linkage

from components.sentence_encoder import SentenceEncoder

TOPICS_VERSION = 1
NLU_DATA = Path(__file__).resolve().parents[1] / "data" / "nlu"


@dataclass(frozen=True)
class Topic:
    members: list[int]
    exemplar: int
    cohesion: float
    nearest_intent: str
    nearest_intent_similarity: float


def training_examples(folder: Path = NLU_DATA) -> tuple[list[str], list[str]]:
    """(texts, intents) of the bot's NLU training examples."""
    texts, intents = [], []
    for path in sorted(folder.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines() if "intent" in block else []:
                if line.strip().startswith("- "):
                    texts.append(line.strip()[2:])
                    intents.append(block["intent"])
    return texts, intents


def groups(embeddings: np.ndarray, max_distance: float, min_size: int) -> list[list[int]]:
    """Indices of the rows in each group of at least `min_size`, biggest first (ties: first row first)."""
    if len(embeddings) < max(min_size, 2):
        return []
    labels = fcluster(linkage(embeddings, method="average", metric="cosine"), t=max_distance, criterion="distance")
    by_label: dict[int, list[int]] = {}
    for row, label in enumerate(labels):
        by_label.setdefault(int(label), []).append(row)
    found = [rows for rows in by_label.values() if len(rows) >= min_size]
    return sorted(found, key=lambda rows: (-len(rows), rows[0]))


def discover(
    messages: list[dict[str, Any]],
    encoder: SentenceEncoder,
    max_distance: float,
    min_size: int,
    examples: tuple[list[str], list[str]],
) -> list[Topic]:
    ids = [int(m["id"]) for m in messages]
    embeddings = encoder.encode([str(m["text"]) for m in messages]) if messages else np.zeros((0, 384))
    example_texts, example_intents = examples
    example_embeddings = encoder.encode(example_texts) if example_texts else None
    topics = []
    for rows in groups(embeddings, max_distance, min_size):
        centre = embeddings[rows].mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        similarities = embeddings[rows] @ centre
        nearest_intent, nearest = "", 0.0
        if example_embeddings is not None:
            to_examples = example_embeddings @ centre
            best = int(np.argmax(to_examples))
            nearest_intent, nearest = example_intents[best], float(to_examples[best])
        topics.append(
            Topic(
                members=[ids[r] for r in rows],
                exemplar=ids[rows[int(np.argmax(similarities))]],
                cohesion=round(float(similarities.mean()), 4),
                nearest_intent=nearest_intent,
                nearest_intent_similarity=round(nearest, 4),
            )
        )
    return topics


def main(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    request = json.load(stdin)
    topics = discover(
        request["messages"],
        SentenceEncoder(),
        float(request["max_distance"]),
        int(request["min_size"]),
        training_examples(),
    )
    json.dump({"version": TOPICS_VERSION, "topics": [asdict(t) for t in topics]}, stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
