"""The NumPy all-MiniLM-L6-v2 encoder: shape, unit length, and embeddings that carry meaning."""

from __future__ import annotations

import numpy as np
import pytest
from components.sentence_encoder import SentenceEncoder


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)  # the embeddings are unit vectors


def test_embeddings_are_unit_vectors_of_384_dimensions(encoder: SentenceEncoder) -> None:
    embeddings = encoder.encode(["I lost my card", "What time do you open on Saturday?"])

    assert embeddings.shape == (2, 384)
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_close_and_unrelated_messages_far(encoder: SentenceEncoder) -> None:
    lost, missing, opening_hours, weather = encoder.encode(
        [
            "I lost my card",
            "My bank card has gone missing",
            "What are your opening hours?",
            "It is sunny at the beach today",
        ]
    )

    assert cosine(lost, missing) > 0.7
    assert cosine(lost, opening_hours) < 0.3
    assert cosine(lost, weather) < 0.3


def test_a_text_embeds_the_same_alone_or_padded_in_a_batch(encoder: SentenceEncoder) -> None:
    text = "How do I change my PIN?"
    alone = encoder.encode([text])[0]
    batched = encoder.encode(
        ["Hi", text, "Could you explain the fees for paying in euros with my card abroad?"]
    )[1]

    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_long_texts_are_truncated_not_rejected(encoder: SentenceEncoder) -> None:
    embeddings = encoder.encode(["my card was charged twice " * 200])

    assert embeddings.shape == (1, 384)
    assert np.isfinite(embeddings).all()


def test_no_texts_give_an_empty_matrix(encoder: SentenceEncoder) -> None:
    assert encoder.encode([]).shape == (0, 384)
