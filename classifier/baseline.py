"""Baseline models on record embeddings: relevance by logistic regression, themes by one-vs-rest
logistic regression or, until each theme has examples, by cosine to the themes' own text.

Numpy in, numpy out, scikit-learn's contract: ``fit`` returns ``self``, learned state ends in
``_``, ``check_is_fitted`` guards every use. The learned state is plain arrays, so ``to_arrays``
and ``from_arrays`` round-trip a model through ``classifier.artifacts`` without pickle.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

__all__ = ["EmbeddingLogistic", "ThemeBaseline"]


def _matrix(X: Any, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array, not shape {X.shape}")
    return X


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def _shift_to_total(logits: np.ndarray, total: float) -> float:
    """The shift ``d`` for which ``sigmoid(logits + d)`` sums to ``total`` (bisection: the sum
    grows with ``d``)."""
    low, high = -40.0, 40.0
    for _ in range(60):
        middle = (low + high) / 2
        if _sigmoid(logits + middle).sum() < total:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _fit_logistic(X: np.ndarray, y: np.ndarray, C: float, max_iter: int) -> LogisticRegression:
    # liblinear: the queue refits after every decision, and on a few hundred labelled records
    # it fits in 3-45 ms here where lbfgs takes 25-390 ms.
    return LogisticRegression(
        C=C, class_weight="balanced", solver="liblinear", max_iter=max_iter
    ).fit(X, y)


class EmbeddingLogistic(ClassifierMixin, BaseEstimator):
    """``LogisticRegression(class_weight="balanced")`` on L2-normalised record embeddings.

    ``y`` is 1 for include and 0 for exclude; both must occur. ``predict_proba`` gives the
    class-balanced probabilities the ranking uses; ``calibrated_proba`` undoes the balancing
    by shifting the log-odds so that, over the training records, the probabilities add up to
    the number of includes (calibration in the large), which is what sums of probabilities
    need.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> EmbeddingLogistic:
        X = _matrix(X)
        y = np.asarray(y).astype(np.int64).ravel()
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
        counts = np.bincount(y, minlength=2)
        if len(counts) != 2 or counts.min() == 0:
            raise ValueError("y must hold both classes, 0 (exclude) and 1 (include), and no other")
        model = _fit_logistic(X, y, self.C, self.max_iter)
        self.coef_ = model.coef_[0].astype(np.float32)
        self.intercept_ = float(model.intercept_[0])
        self.classes_ = np.array([0, 1])
        self.class_counts_ = counts
        self.n_features_in_ = X.shape[1]
        self.calibration_shift_ = _shift_to_total(self.decision_function(X), float(counts[1]))
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The log-odds of include under balanced class weights, one value per row."""
        check_is_fitted(self, "coef_")
        X = _matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the model {self.n_features_in_}")
        return X @ self.coef_ + np.float32(self.intercept_)

    def predict_proba(self, X: Any) -> np.ndarray:
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(np.int64)

    def calibrated_proba(self, X: Any) -> np.ndarray:
        """P(include) with the balancing undone (the log-odds shifted by
        ``calibration_shift_``).

        Honest only as far as the labelled records resemble the rest; records chosen by the
        ranking over-represent includes, so sums of these probabilities run high.
        """
        return _sigmoid(self.decision_function(X) + self.calibration_shift_)

    def to_arrays(self) -> dict[str, np.ndarray]:
        check_is_fitted(self, "coef_")
        return {
            "coef": self.coef_,
            "intercept": np.array([self.intercept_]),
            "class_counts": self.class_counts_,
            "calibration_shift": np.array([self.calibration_shift_]),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params: Any) -> EmbeddingLogistic:
        model = cls(**params)
        model.coef_ = np.asarray(arrays["coef"], dtype=np.float32)
        model.intercept_ = float(arrays["intercept"][0])
        model.class_counts_ = np.asarray(arrays["class_counts"], dtype=np.int64)
        model.calibration_shift_ = float(arrays["calibration_shift"][0])
        model.classes_ = np.array([0, 1])
        model.n_features_in_ = len(model.coef_)
        return model


ThemeMode = Literal["supervised", "zero-shot"]


class ThemeBaseline(BaseEstimator):
    """Theme suggestions for records, from their embeddings.

    ``fit(X, Y, theme_vectors)``: ``Y[i, t]`` is 1 when labelled record ``i`` has theme ``t``;
    ``theme_vectors[t]`` embeds theme ``t``'s name and description. When every theme has at
    least one positive and one negative record, one logistic regression per theme learns it
    (``mode_ == "supervised"``); otherwise every theme is scored zero-shot, by a softmax over
    the cosines of the record to the theme vectors (``mode_ == "zero-shot"``).
    """

    def __init__(self, C: float = 1.0, temperature: float = 0.05, max_iter: int = 1000) -> None:
        self.C = C
        self.temperature = temperature
        self.max_iter = max_iter

    def fit(self, X: Any, Y: Any, theme_vectors: Any) -> ThemeBaseline:
        theme_vectors = _matrix(theme_vectors, "theme_vectors")
        if len(theme_vectors) == 0:
            raise ValueError("theme_vectors must hold at least one theme")
        X = _matrix(X) if len(X) else np.zeros((0, theme_vectors.shape[1]), np.float32)
        Y = np.asarray(Y, dtype=np.int64).reshape(len(X), len(theme_vectors))
        norms = np.linalg.norm(theme_vectors, axis=1, keepdims=True)
        self.theme_vectors_ = theme_vectors / np.where(norms > 0, norms, 1.0)
        positives = Y.sum(axis=0)
        supervised = len(X) > 0 and bool(np.all((positives > 0) & (positives < len(X))))
        self.mode_: ThemeMode = "supervised" if supervised else "zero-shot"
        if supervised:
            models = [_fit_logistic(X, Y[:, t], self.C, self.max_iter) for t in range(Y.shape[1])]
            self.coef_ = np.stack([m.coef_[0] for m in models]).astype(np.float32)
            self.intercept_ = np.array([m.intercept_[0] for m in models], dtype=np.float32)
        self.n_themes_ = len(theme_vectors)
        self.n_features_in_ = theme_vectors.shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Scores in [0, 1], shape (n_records, n_themes): per-theme probabilities when
        supervised, a distribution over the themes when zero-shot."""
        check_is_fitted(self, "theme_vectors_")
        X = _matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the model {self.n_features_in_}")
        if self.mode_ == "supervised":
            return _sigmoid(X @ self.coef_.T + self.intercept_)
        logits = (X @ self.theme_vectors_.T) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Suggested themes as a boolean matrix: probability >= 0.5 when supervised, the single
        best theme when zero-shot."""
        scores = self.predict_proba(X)
        if self.mode_ == "supervised":
            return scores >= 0.5
        return scores == scores.max(axis=1, keepdims=True)

    def to_arrays(self) -> dict[str, np.ndarray]:
        check_is_fitted(self, "theme_vectors_")
        arrays = {"theme_vectors": self.theme_vectors_}
        if self.mode_ == "supervised":
            arrays |= {"coef": self.coef_, "intercept": self.intercept_}
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params: Any) -> ThemeBaseline:
        model = cls(**params)
        model.theme_vectors_ = np.asarray(arrays["theme_vectors"], dtype=np.float32)
        model.mode_ = "supervised" if "coef" in arrays else "zero-shot"
        if model.mode_ == "supervised":
            model.coef_ = np.asarray(arrays["coef"], dtype=np.float32)
            model.intercept_ = np.asarray(arrays["intercept"], dtype=np.float32)
        model.n_themes_, model.n_features_in_ = model.theme_vectors_.shape
        return model
