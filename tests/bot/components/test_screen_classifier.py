"""The safety screen's learnt reading (bot/components/screen_classifier.py) on a small, made-up set: it reads a
topic's message as needing a person and a routine one as not, and reads the same after a save and a load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.screen_classifier import ANSWERED, TopicClassifier, training_pairs
from components.sentence_encoder import SentenceEncoder

FRAUD = ["someone used my card without asking", "there is a payment i never made", "money went out that wasnt me",
         "a stranger spent money on my account", "i dont recognise these transactions"]
BEREAVEMENT = ["my mum passed away last week", "my husband died and his account needs closing",
               "im the executor of my fathers estate", "we lost dad in june, what happens to his savings"]
ANSWERED_EXAMPLES = ["what time do you open", "how do i activate my card", "when will my new card arrive",
                     "whats my sort code", "how do i change my address", "my phone died, how do i reset my pin",
                     "can i use my card abroad", "how long does a transfer take"]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


@pytest.fixture(scope="module")
def classifier(encoder) -> TopicClassifier:
    pairs = [("fraud", t) for t in FRAUD] + [("bereavement", t) for t in BEREAVEMENT]
    texts, labels = training_pairs(pairs, ANSWERED_EXAMPLES)
    return TopicClassifier.fit(texts, encoder.encode(texts), labels)


def test_a_text_both_a_topics_and_answered_keeps_its_topic():
    texts, labels = training_pairs([("fraud", "strange payment")], ["strange payment", "opening hours"])
    assert dict(zip(texts, labels)) == {"strange payment": "fraud", "opening hours": ANSWERED}


def test_answered_is_the_last_class_and_never_a_reading(classifier, encoder):
    assert classifier.classes == ["bereavement", "fraud", ANSWERED]
    texts = ["what time does the branch open"]
    assert classifier.read(texts, encoder.encode(texts))[0].topic != ANSWERED


@pytest.mark.parametrize(
    "text,topic",
    [("somebody took money out of my account and it wasnt me", "fraud"), ("my wife passed away in may", "bereavement")],
)
def test_a_topics_message_reads_as_needing_a_person(classifier, encoder, text, topic):
    reading = classifier.read([text], encoder.encode([text]))[0]
    assert reading.topic == topic and reading.probability > 0.5


def test_a_routine_message_reads_as_answered(classifier, encoder):
    text = "what are your opening hours on saturday"
    assert classifier.read([text], encoder.encode([text]))[0].probability < 0.5


def test_a_saved_classifier_reads_the_same_after_loading(classifier, encoder, tmp_path: Path):
    classifier.save(tmp_path)
    loaded = TopicClassifier.load(tmp_path)
    texts = ["someone spent money on my card", "when will my card arrive", "an acount i never opend"]
    embeddings = encoder.encode(texts)
    before, after = classifier.read(texts, embeddings), loaded.read(texts, embeddings)
    assert [r.topic for r in before] == [r.topic for r in after]
    assert np.allclose([r.probability for r in before], [r.probability for r in after], atol=1e-6)
