"""Multinomial logistic regression over dense + sparse features, fitted with L-BFGS.

scikit-learn's LogisticRegression fitted Banking77's embeddings + TF-IDF in ~2 minutes: the
dense embeddings had to sit in its one sparse matrix (multiplied without BLAS), and SciPy's
L-BFGS-B spends most of its time in bound handling on ~2 million weights. Here the embeddings
stay dense beside the sparse TF-IDF columns, and a plain L-BFGS (two-loop recursion, Armijo
backtracking) runs on float32 vectors. Same objective as scikit-learn's: cross-entropy plus an
L2 penalty 1/(2C) on the weights, none on the bias.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import scipy.sparse
from sklearn.feature_extraction.text import TfidfVectorizer

Objective = Callable[[np.ndarray], Tuple[float, np.ndarray]]


@dataclass(frozen=True)
class SoftmaxRegression:
    """Weights for the dense columns, for the sparse columns, and one bias per class."""

    dense_weights: np.ndarray  # (dense features, classes)
    sparse_weights: np.ndarray  # (sparse features, classes)
    bias: np.ndarray  # (classes,)

    def probabilities(self, dense: np.ndarray, sparse: scipy.sparse.csr_matrix) -> np.ndarray:
        return _softmax(self.logits(dense, sparse))

    def logits(self, dense: np.ndarray, sparse: scipy.sparse.csr_matrix) -> np.ndarray:
        return np.asarray(dense @ self.dense_weights + sparse @ self.sparse_weights + self.bias)


def save_with_vectorizer(
    arrays_file: Path, metadata_file: Path, model: SoftmaxRegression, vectorizer: TfidfVectorizer, **metadata: Any
) -> None:
    """The regression and its TF-IDF vectorizer as NumPy arrays and JSON, not pickles: loading them runs no code."""
    idf = vectorizer.idf_.astype(np.float32)
    np.savez(arrays_file, dense_weights=model.dense_weights, sparse_weights=model.sparse_weights, bias=model.bias, idf=idf)
    vocabulary = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
    metadata_file.write_text(json.dumps({**metadata, "vocabulary": vocabulary}), encoding="utf-8")


def load_with_vectorizer(
    arrays_file: Path, metadata_file: Path, vectorizer_for: Callable[[Dict[str, int]], TfidfVectorizer]
) -> Tuple[SoftmaxRegression, TfidfVectorizer, Dict[str, Any]]:
    """What save_with_vectorizer stored: the regression, its vectorizer (built by `vectorizer_for` from the stored
    vocabulary) and the rest of the metadata."""
    arrays = dict(np.load(arrays_file, allow_pickle=False))
    metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    vectorizer = vectorizer_for(metadata.pop("vocabulary"))
    vectorizer.idf_ = arrays["idf"]
    return SoftmaxRegression(arrays["dense_weights"], arrays["sparse_weights"], arrays["bias"]), vectorizer, metadata


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_softmax_regression(
    dense: np.ndarray,
    sparse: scipy.sparse.csr_matrix,
    labels: np.ndarray,
    classes: int,
    C: float,
    max_iter: int,
) -> SoftmaxRegression:
    """Minimises sum of cross-entropies + ||W||^2 / (2C) over `labels` (class indices)."""
    dense = np.ascontiguousarray(dense, dtype=np.float32)
    sparse = scipy.sparse.csr_matrix(sparse, dtype=np.float32)
    sparse_transposed = sparse.T.tocsr()
    examples, dense_width = dense.shape
    sparse_width = sparse.shape[1]
    targets = np.zeros((examples, classes), dtype=np.float32)
    targets[np.arange(examples), labels] = 1.0
    # Dividing the objective by C * examples keeps its scale, and L-BFGS's tolerances, sane.
    penalty = np.float32(1.0 / (C * examples))

    def unpack(theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        split = dense_width * classes
        end = split + sparse_width * classes
        return (
            theta[:split].reshape(dense_width, classes),
            theta[split:end].reshape(sparse_width, classes),
            theta[end:],
        )

    def objective(theta: np.ndarray) -> Tuple[float, np.ndarray]:
        dense_w, sparse_w, bias = unpack(theta)
        model = SoftmaxRegression(dense_w, sparse_w, bias)
        logits = model.logits(dense, sparse)
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_probabilities = logits - log_norm
        loss = -float((targets * log_probabilities).sum(dtype=np.float64)) / examples
        loss += 0.5 * float(penalty) * (float((dense_w**2).sum()) + float((sparse_w**2).sum()))
        errors = (np.exp(log_probabilities) - targets) / np.float32(examples)
        gradient = np.concatenate(
            [
                (dense.T @ errors + penalty * dense_w).ravel(),
                np.asarray(sparse_transposed @ errors + penalty * sparse_w).ravel(),
                errors.sum(axis=0),
            ]
        )
        return loss, gradient

    start = np.zeros((dense_width + sparse_width + 1) * classes, dtype=np.float32)
    return SoftmaxRegression(*unpack(_minimise_lbfgs(objective, start, max_iter)))


def _minimise_lbfgs(
    objective: Objective, x: np.ndarray, max_iter: int, history: int = 10, gradient_tol: float = 1e-5
) -> np.ndarray:
    """L-BFGS with backtracking line search; stops when every gradient entry is below `gradient_tol`."""
    loss, gradient = objective(x)
    pairs: List[Tuple[np.ndarray, np.ndarray, float]] = []  # (step, gradient change, 1 / their dot)
    for _ in range(max_iter):
        if np.abs(gradient).max() <= gradient_tol:
            break
        direction = -_inverse_hessian_times(gradient, pairs)
        slope = float(gradient @ direction)
        if slope >= 0:  # not a descent direction: forget the curvature pairs
            pairs.clear()
            direction, slope = -gradient, -float(gradient @ gradient)
        step = 1.0
        while True:
            candidate = x + np.float32(step) * direction
            new_loss, new_gradient = objective(candidate)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-8:
                break
            step /= 2
        moved, gradient_change = candidate - x, new_gradient - gradient
        curvature = float(moved @ gradient_change)
        if curvature > 1e-10:
            pairs = (pairs + [(moved, gradient_change, 1.0 / curvature)])[-history:]
        x, loss, gradient = candidate, new_loss, new_gradient
    return x


def _inverse_hessian_times(
    gradient: np.ndarray, pairs: List[Tuple[np.ndarray, np.ndarray, float]]
) -> np.ndarray:
    """L-BFGS's two-loop recursion; with no curvature yet, a unit-length gradient step."""
    if not pairs:
        return gradient / max(float(np.linalg.norm(gradient)), 1.0)
    q = gradient.copy()
    alphas = []
    for moved, change, rho in reversed(pairs):
        alpha = rho * float(moved @ q)
        q -= np.float32(alpha) * change
        alphas.append(alpha)
    moved, change, _ = pairs[-1]
    q *= np.float32(float(moved @ change) / float(change @ change))
    for (moved, change, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * float(change @ q)
        q += np.float32(alpha - beta) * moved
    return q
