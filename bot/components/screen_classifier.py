"""The safety screen's learnt reading: which sensitive topic, if any, a message is about.

Phrases and nearness to one example catch what was written down before; three rounds of them did not carry over to
fresh messages (docs/handoff.md). This reading is trained instead, on every topic's examples against everything the
bot answers itself: a logistic regression over the classifier's sentence embedding and character n-grams (which a
misspelling leaves mostly whole: "fraudulant", "acount"). Its classes are the screen's topics and `ANSWERED`; the
screen reads 1 - P(ANSWERED) as how likely the message needs a person, and the likeliest topic as which.

It is independent of the intent classifier: another model, trained on other labels (topic or not, where the intent
classifier splits the same message between a dozen routine intents), from more examples (bot/triage/screen_examples.yml).
Stored as NumPy arrays and JSON, like the intent classifier: loading runs no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from components.softmax_regression import (
    SoftmaxRegression,
    fit_softmax_regression,
    load_with_vectorizer,
    save_with_vectorizer,
)

ANSWERED = "answered_by_the_bot"  # the class of everything the bot answers itself
_EMBEDDING_WEIGHT = 2.0  # the unit-length embedding against the unit-length n-gram vector, as in the intent classifier
_C, _MAX_ITER = 10.0, 500
_MODEL_FILE, _METADATA_FILE = "screen_classifier.npz", "screen_classifier.json"


def _vectorizer(vocabulary: Dict[str, int] | None = None) -> TfidfVectorizer:
    # Character 2-5-grams within words, seen in two examples or more: spelling-proof, and few enough to stay small.
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        min_df=1 if vocabulary else 2,
        sublinear_tf=True,
        lowercase=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


@dataclass(frozen=True)
class Reading:
    topic: str  # the likeliest topic (never ANSWERED)
    probability: float  # that the message needs a person: 1 - P(ANSWERED)


@dataclass(frozen=True)
class TopicClassifier:
    classes: List[str]  # the topics, then ANSWERED
    vectorizer: TfidfVectorizer
    regression: SoftmaxRegression

    @classmethod
    def fit(cls, texts: Sequence[str], embeddings: np.ndarray, labels: Sequence[str]) -> TopicClassifier:
        """`labels`: each text's topic, or ANSWERED."""
        classes = sorted(set(labels) - {ANSWERED}) + [ANSWERED]
        vectorizer = _vectorizer().fit(texts)
        index = np.array([classes.index(label) for label in labels])
        dense = embeddings * np.float32(_EMBEDDING_WEIGHT)
        regression = fit_softmax_regression(dense, vectorizer.transform(texts), index, len(classes), _C, _MAX_ITER)
        return cls(classes, vectorizer, regression)

    def read(self, texts: Sequence[str], embeddings: np.ndarray) -> List[Reading]:
        """One reading per text (embeddings: their unit-length sentence embeddings, in the same order)."""
        dense = np.atleast_2d(np.asarray(embeddings, dtype=np.float32)) * np.float32(_EMBEDDING_WEIGHT)
        probabilities = self.regression.probabilities(dense, self.vectorizer.transform(list(texts)))
        readings = []
        for row in probabilities:
            best = int(np.argmax(row[:-1]))
            readings.append(Reading(self.classes[best], 1.0 - float(row[-1])))
        return readings

    def save(self, model_dir: Path) -> None:
        files = (model_dir / _MODEL_FILE, model_dir / _METADATA_FILE)
        save_with_vectorizer(*files, self.regression, self.vectorizer, classes=self.classes)

    @classmethod
    def load(cls, model_dir: Path) -> TopicClassifier:
        files = (model_dir / _MODEL_FILE, model_dir / _METADATA_FILE)
        regression, vectorizer, metadata = load_with_vectorizer(*files, _vectorizer)
        return cls(metadata["classes"], vectorizer, regression)


def training_pairs(
    topic_examples: Sequence[Tuple[str, str]],
    answered_examples: Sequence[str],
) -> Tuple[List[str], List[str]]:
    """(texts, labels): every topic example under its topic, every answered example under ANSWERED; a text that is
    both keeps its topic (the safe reading)."""
    labelled: Dict[str, str] = {text: ANSWERED for text in answered_examples}
    labelled.update({text: topic for topic, text in topic_examples})
    return list(labelled), list(labelled.values())
