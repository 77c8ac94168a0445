"""The L-BFGS softmax regression reaches scikit-learn's LogisticRegression optimum (same objective)."""

from __future__ import annotations

import numpy as np
import scipy.sparse
from sklearn.linear_model import LogisticRegression

from components.softmax_regression import fit_softmax_regression


def test_probabilities_match_scikit_learn_on_the_same_objective() -> None:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, size=300)
    centres = rng.normal(size=(3, 8)).astype(np.float32)
    dense = (centres[labels] + rng.normal(scale=1.5, size=(300, 8))).astype(np.float32)
    sparse = scipy.sparse.random(300, 40, density=0.1, random_state=7, format="csr", dtype=np.float32)
    sparse[np.arange(300), labels] = 1.0  # some sparse columns carry the label too

    ours = fit_softmax_regression(dense, sparse, labels, classes=3, C=1.0, max_iter=500)
    reference = LogisticRegression(C=1.0, tol=1e-8, max_iter=5000).fit(
        scipy.sparse.hstack([scipy.sparse.csr_matrix(dense), sparse]).tocsr(), labels
    )

    expected = reference.predict_proba(scipy.sparse.hstack([scipy.sparse.csr_matrix(dense), sparse]).tocsr())
    np.testing.assert_allclose(ours.probabilities(dense, sparse), expected, atol=2e-3)


def test_rows_are_probability_distributions() -> None:
    dense = np.eye(4, dtype=np.float32)
    sparse = scipy.sparse.csr_matrix((4, 0), dtype=np.float32)

    model = fit_softmax_regression(dense, sparse, np.array([0, 1, 2, 3]), classes=4, C=10.0, max_iter=200)
    probabilities = model.probabilities(dense, sparse)

    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert list(probabilities.argmax(axis=1)) == [0, 1, 2, 3]
