"""SentenceEmbeddingIntentClassifier through Rasa's graph-component life cycle: train, persist, load, process."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from components.intent_classifier import SentenceEmbeddingIntentClassifier
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

EXAMPLES = {
    "card_lost": [
        "I lost my card",
        "my card is missing",
        "I can't find my debit card anywhere",
        "someone stole my card",
        "my wallet with my card was stolen",
    ],
    "opening_hours": [
        "when are you open",
        "what are your opening hours",
        "are branches open on sunday",
        "what time does the bank close today",
        "until when can I visit a branch",
    ],
    "greet": ["hello", "hi there", "good morning", "hey", "hi, anyone there?"],
}


def training_data() -> TrainingData:
    return TrainingData(
        training_examples=[
            Message(data={"text": text, "intent": intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


@pytest.fixture
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), uuid.uuid4().hex)


RESOURCE = Resource("intent_classifier")


@pytest.fixture
def trained(storage: LocalModelStorage, context: ExecutionContext) -> SentenceEmbeddingIntentClassifier:
    classifier = SentenceEmbeddingIntentClassifier.create({}, storage, RESOURCE, context)
    classifier.train(training_data())
    return classifier


def parse(classifier: SentenceEmbeddingIntentClassifier, *texts: str) -> list[Message]:
    return classifier.process([Message(data={"text": text}) for text in texts])


def test_new_wordings_get_their_intent(trained: SentenceEmbeddingIntentClassifier) -> None:
    messages = parse(
        trained, "help, my credit card has been stolen", "is the branch open on saturday?", "hiya"
    )

    assert [m.get("intent")["name"] for m in messages] == ["card_lost", "opening_hours", "greet"]


def test_ranking_is_sorted_probabilities_headed_by_the_intent(
    trained: SentenceEmbeddingIntentClassifier,
) -> None:
    (message,) = parse(trained, "I think I left my card at the shop")
    ranking: list[dict[str, Any]] = message.get("intent_ranking")
    confidences = [entry["confidence"] for entry in ranking]

    assert sorted(entry["name"] for entry in ranking) == sorted(EXAMPLES)
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0, abs=1e-6)
    assert message.get("intent") == ranking[0]
    assert (
        message.as_dict_nlu()["intent"] == ranking[0]
    )  # in the parse output, where FallbackClassifier reads it


def test_loaded_model_predicts_exactly_like_the_trained_one(
    trained: SentenceEmbeddingIntentClassifier, storage: LocalModelStorage, context: ExecutionContext
) -> None:
    loaded = SentenceEmbeddingIntentClassifier.load({}, storage, RESOURCE, context)
    texts = ["card gone", "open late on fridays?", "hello!"]

    for before, after in zip(parse(trained, *texts), parse(loaded, *texts)):
        assert [e["name"] for e in after.get("intent_ranking")] == [
            e["name"] for e in before.get("intent_ranking")
        ]
        assert [e["confidence"] for e in after.get("intent_ranking")] == pytest.approx(
            [e["confidence"] for e in before.get("intent_ranking")], abs=1e-6
        )


def test_ranking_length_caps_the_ranking(storage: LocalModelStorage, context: ExecutionContext) -> None:
    classifier = SentenceEmbeddingIntentClassifier.create({"ranking_length": 2}, storage, RESOURCE, context)
    classifier.train(training_data())

    (message,) = parse(classifier, "my card was stolen")

    assert len(message.get("intent_ranking")) == 2


def test_empty_text_gets_no_intent(trained: SentenceEmbeddingIntentClassifier) -> None:
    (message,) = parse(trained, "   ")

    assert message.get("intent") == {"name": None, "confidence": 0.0}
    assert message.get("intent_ranking") == []


def test_a_model_that_was_never_trained_loads_and_gives_no_intent(
    storage: LocalModelStorage, context: ExecutionContext
) -> None:
    untrained = SentenceEmbeddingIntentClassifier.load({}, storage, Resource("never_trained"), context)

    (message,) = parse(untrained, "I lost my card")

    assert message.get("intent")["name"] is None


def test_fallback_classifier_reads_its_confidences(trained: SentenceEmbeddingIntentClassifier) -> None:
    strict = FallbackClassifier({"threshold": 0.99, "ambiguity_threshold": 0.1})
    lenient = FallbackClassifier({"threshold": 0.05, "ambiguity_threshold": 0.0})

    (unsure,) = strict.process(parse(trained, "my card was stolen"))
    (sure,) = lenient.process(parse(trained, "my card was stolen"))

    assert unsure.get("intent")["name"] == "nlu_fallback"
    assert sure.get("intent")["name"] == "card_lost"


def test_a_message_is_classified_on_one_blas_thread(
    trained: SentenceEmbeddingIntentClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    seen: list[set[int]] = []
    encoder = trained._sentence_encoder()
    encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts: (seen.append(blas_threads()), encode(texts))[1])
    before = blas_threads()

    parse(trained, "when will my card arrive")

    assert seen == [{1}]
    assert blas_threads() == before  # training and everything else keep BLAS's own setting
