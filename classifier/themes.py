"""The theme model: which of a review's themes a record belongs to, from its embedding.

One logistic regression per theme (one-vs-rest) whose weights are pulled towards the theme's
own text instead of towards zero. The prior weight vector of theme ``t`` points at the
embedding of its name and description, refined by the corpus; the penalty
``0.5 * |w_t - w0_t|^2`` replaces sklearn's ``0.5 * |w_t|^2``. So:

- with no labels at all, ``w_t = w0_t`` and suggestions are cosine similarity to the theme's
  text (``mode_ == "zero-shot"``);
- as records get labels, each theme's data moves its weights away from the prior, a theme with
  few labels staying close to it and a theme with many leaving it behind. No switch and no
  blending weight to tune: the takeover is the MAP estimate under the prior.

Features are the embeddings centred on the corpus mean and renormalised: centring removes what
every record of a review shares (here: "a drug trial"), which otherwise dominates the cosine to
a short theme name. With a corpus (labeled plus unlabeled records), the prior directions are
refined transductively: records are softly assigned to the themes they are closest to, and the
theme text is moved towards the centroid of its records (two steps).

With labels and unlabeled records, the fit is then self-trained once: every unlabeled record
(at most ``max_pseudo`` of them, a fixed random sample beyond that) gets its most probable theme
as a pseudo-label, after smoothing its probabilities with its nearest corpus neighbours' (their
labels where labeled), and the themes are refitted on labeled plus pseudo-labeled records, the
latter weighing ``pseudo_weight`` each. The neighbours come from a ``neighbors`` function (the
service asks its FAISS index; the default is an exact top-k in blocks), so time and memory grow
linearly with the corpus: no corpus-by-corpus matrix. With few labels this
is where most of the gain over the labels alone comes from (bench/themes.py: 10 labeled records
per theme); with many, the labels outweigh the pseudo-labels. Predictions still need only the
weights. ``pseudo_weight=0`` turns it off.

An option, off by default: lexical features (e.g. a TF-IDF matrix of the same records, dense or
scipy sparse) passed as ``lexical=`` to ``fit`` and ``predict_proba``. A class-balanced logistic
regression per learnt theme on them is averaged with the embedding model (weight
``lexical_weight``). Drug classes are lexical (drug names), so with many labels this helps
(bench/themes.py measures it); the caller owns the vocabulary, so it is not the default.

Numpy in, numpy out: nothing here knows about records, stores or texts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import issparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

__all__ = ["Neighbors", "ThemeModel", "exact_neighbors", "fit_theme_model"]

ThemeMode = Literal["zero-shot", "blend", "supervised"]

# ``neighbors(rows, k)``: for each of ``rows`` (positions in the corpus), the positions of its
# ``k`` nearest other corpus records (cosine), -1 where there are fewer.
Neighbors = Callable[[np.ndarray, int], np.ndarray]

# The prior log-odds of a record at the corpus's average similarity to a theme: most records
# belong to one theme of many, so a theme's base rate is low.
_PRIOR_OFFSET = -2.0


def exact_neighbors(vectors: np.ndarray) -> Neighbors:
    """Exact cosine neighbours among the rows of ``vectors`` (normalised embeddings): a flat
    inner-product FAISS index, the same search the service's project index does; memory
    linear in the rows, never ``n x n``."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)

    def neighbors(rows: np.ndarray, k: int) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.full((len(rows), max(k, 0)), -1, dtype=np.int64)
        if k <= 0 or not len(rows) or len(vectors) < 2:
            return out
        _, found = index.search(vectors[rows], min(k + 1, len(vectors)))
        for i, (row, hits) in enumerate(zip(rows, found, strict=True)):
            near = [h for h in hits if h >= 0 and h != row][:k]
            out[i, : len(near)] = near
        return out

    return neighbors


def _matrix(X: Any, name: str, columns: int | None = None, dtype: Any = np.float64) -> np.ndarray:
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array, not shape {X.shape}")
    if columns is not None and X.shape[1] != columns:
        raise ValueError(f"{name} has {X.shape[1]} columns, expected {columns}")
    return X


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def _fit_towards_prior(
    X: np.ndarray,
    Y: np.ndarray,
    W0: np.ndarray,
    b0: np.ndarray,
    C: float,
    max_iter: int,
    record_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(d, k)`` and intercepts ``(k,)`` of ``k`` class-balanced logistic regressions,
    each penalised towards its prior: ``0.5 |W - W0|^2 + 0.5 |b - b0|^2 + C * loss``.
    ``record_weight`` ``(n,)`` scales each record's share of the loss (default: all 1).

    The themes are independent (one-vs-rest); they are solved in one L-BFGS run only because
    one matrix product per step serves all of them. scikit-learn's ``LogisticRegression`` has
    no prior mean (offset), hence the small solver here.
    """
    # One float64 copy: the solver's products would otherwise convert X at every step.
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    k = Y.shape[1]
    r = np.ones((n, 1)) if record_weight is None else record_weight.reshape(n, 1)
    total = r.sum()
    positives = (r * Y).sum(axis=0)
    # class_weight="balanced", per theme: each class weighs (total record weight) / 2.
    pos_weight = r * Y * (total / (2.0 * positives))
    neg_weight = r * (1.0 - Y) * (total / (2.0 * (total - positives)))
    base = X @ W0 + b0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        V = theta[: d * k].reshape(d, k)
        c = theta[d * k :]
        Z = base + X @ V + c
        loss = (pos_weight * np.logaddexp(0.0, -Z) + neg_weight * np.logaddexp(0.0, Z)).sum()
        P = _sigmoid(Z)
        G = C * (neg_weight * P - pos_weight * (1.0 - P))
        value = 0.5 * (V * V).sum() + 0.5 * (c * c).sum() + C * loss
        return value, np.concatenate([(X.T @ G + V).ravel(), G.sum(axis=0) + c])

    result = minimize(
        objective,
        np.zeros(d * k + k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter},
    )
    return W0 + result.x[: d * k].reshape(d, k), b0 + result.x[d * k :]


class ThemeModel(BaseEstimator):
    """Multi-label theme suggestions for records, from their embeddings.

    ``themes``: the theme names, in column order of ``Y``; ``name_vectors`` ``(k, d)``: the
    query embedding of each theme's name; ``desc_vectors`` ``(k, d)``: of its description
    (``None`` when the themes have none). ``C`` is the inverse strength of the pull towards
    the prior weights, ``prior_scale`` the length of those weights (how sharply the theme text
    alone separates records), ``description_weight`` the description's share of the theme text,
    ``refine_steps`` / ``refine_temperature`` the transductive refinement by the corpus (0 steps
    turns it off), ``supervised_at`` the number of labeled records every theme needs before
    ``mode_`` says the labels rule; ``lexical_C`` and ``lexical_weight`` set the lexical option;
    ``pseudo_weight`` (0 turns it off), ``neighbors``, ``neighbor_share`` and ``max_pseudo``
    (the most unlabeled records pseudo-labeled; a fixed random sample beyond) set the
    self-training on the unlabeled corpus. The defaults of ``C``, ``prior_scale`` and the
    self-training were chosen by validation inside the training folds of bench/themes.py (10
    labeled records per theme, scored on the training records not drawn), never on a test fold.

    After ``fit``: ``coef_`` ``(k, d)`` and ``intercept_`` ``(k,)`` act on the centred,
    renormalised embeddings (``mean_`` is the corpus mean); ``positives_`` counts each theme's
    labeled records; with ``lexical`` features, ``lexical_coef_`` ``(k, v)`` and
    ``lexical_intercept_`` hold their per-theme models (zero rows for themes not learnt) and
    ``lexical_themes_`` marks the learnt themes; ``mode_`` is ``"zero-shot"`` (no theme has a
    labeled record), ``"supervised"`` (every theme has at least ``supervised_at``) or
    ``"blend"`` (between: themes with few labels lean on their text).
    """

    def __init__(
        self,
        themes: Sequence[str],
        name_vectors: np.ndarray,
        desc_vectors: np.ndarray | None = None,
        *,
        C: float = 4.0,
        prior_scale: float = 8.0,
        description_weight: float = 1.0,
        refine_steps: int = 2,
        refine_temperature: float = 0.02,
        supervised_at: int = 20,
        max_iter: int = 500,
        lexical_C: float = 16.0,
        lexical_weight: float = 0.5,
        pseudo_weight: float = 0.3,
        neighbors: int = 5,
        neighbor_share: float = 0.5,
        max_pseudo: int = 3000,
    ) -> None:
        self.themes = themes
        self.name_vectors = name_vectors
        self.desc_vectors = desc_vectors
        self.C = C
        self.prior_scale = prior_scale
        self.description_weight = description_weight
        self.refine_steps = refine_steps
        self.refine_temperature = refine_temperature
        self.supervised_at = supervised_at
        self.max_iter = max_iter
        self.lexical_C = lexical_C
        self.lexical_weight = lexical_weight
        self.pseudo_weight = pseudo_weight
        self.neighbors = neighbors
        self.neighbor_share = neighbor_share
        self.max_pseudo = max_pseudo

    def _theme_text(self) -> np.ndarray:
        """Unit vectors of each theme's name plus (weighted) description, ``(k, d)``."""
        themes = list(self.themes)
        if not themes:
            raise ValueError("themes must name at least one theme")
        names = _matrix(self.name_vectors, "name_vectors")
        if len(names) != len(themes):
            raise ValueError(f"name_vectors has {len(names)} rows for {len(themes)} themes")
        text = _unit_rows(names)
        if self.desc_vectors is not None:
            descriptions = _matrix(self.desc_vectors, "desc_vectors", names.shape[1])
            if len(descriptions) != len(themes):
                raise ValueError(
                    f"desc_vectors has {len(descriptions)} rows for {len(themes)} themes"
                )
            text = text + self.description_weight * _unit_rows(descriptions)
        return _unit_rows(text)

    def _features(self, X: np.ndarray) -> np.ndarray:
        return _unit_rows(X - self.mean_.astype(X.dtype))

    def _prior(self, corpus: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prior weights ``(d, k)`` and intercepts ``(k,)`` from the theme text and the corpus
        (already centred)."""
        text = text.astype(corpus.dtype)
        directions = text
        if len(corpus) >= len(text) and self.refine_steps > 0:
            # Soft k-means seeded by the theme text, which stays in the score as an anchor:
            # without it the clusters drift to whatever the corpus groups best.
            anchor = corpus @ text.T
            scores = anchor
            for _ in range(self.refine_steps):
                centroids = _unit_rows(_softmax(scores / self.refine_temperature).T @ corpus)
                scores = corpus @ centroids.T + anchor
            directions = centroids + text
        W0 = self.prior_scale * directions.T.astype(np.float64)
        typical = (
            (corpus @ W0.astype(corpus.dtype)).mean(axis=0, dtype=np.float64)
            if len(corpus)
            else np.zeros(len(text))
        )
        return W0, _PRIOR_OFFSET - typical

    def fit(
        self,
        X: Any,
        Y: Any,
        X_unlabeled: Any | None = None,
        *,
        lexical: Any | None = None,
        neighbors: Neighbors | None = None,
    ) -> ThemeModel:
        """Learn the themes from labeled records ``X`` ``(n, d)`` with ``Y[i, t] = 1`` when
        record ``i`` has theme ``t`` (``n`` may be 0), using ``X_unlabeled`` ``(m, d)`` (the
        rest of the corpus, without the labeled records) for centring, refining the priors and
        self-training. ``lexical`` ``(n, v)``: the labeled records' lexical features (the
        option above). ``neighbors``: nearest neighbours by position in ``[X; X_unlabeled]``
        (default: ``exact_neighbors`` of those rows)."""
        text = self._theme_text()
        k, d = text.shape
        X = _matrix(np.reshape(X, (0, d)) if np.size(X) == 0 else X, "X", d, np.float32)
        Y = np.asarray(Y, dtype=np.float64)
        if Y.size == 0 and len(X) == 0:
            Y = np.zeros((0, k))
        if Y.ndim != 2 or Y.shape != (len(X), k):
            raise ValueError(f"Y must have shape {(len(X), k)} (records, themes), not {Y.shape}")
        if not np.isin(Y, (0.0, 1.0)).all():
            raise ValueError("Y must hold only 0 and 1")
        unlabeled = (
            np.zeros((0, d), dtype=np.float32)
            if X_unlabeled is None or np.size(X_unlabeled) == 0
            else _matrix(X_unlabeled, "X_unlabeled", d, np.float32)
        )
        corpus = np.vstack([X, unlabeled])
        self.mean_ = corpus.mean(axis=0, dtype=np.float64) if len(corpus) else np.zeros(d)
        centred = self._features(corpus)
        W0, b0 = self._prior(centred, text)
        W, b = W0.copy(), b0.copy()
        self.positives_ = Y.sum(axis=0).astype(np.int64)
        # A theme is learnt once it has a labeled record and a labeled record without it;
        # the others keep their prior.
        learnt = (self.positives_ > 0) & (self.positives_ < len(X))
        if learnt.any():
            W[:, learnt], b[learnt] = _fit_towards_prior(
                centred[: len(X)], Y[:, learnt], W0[:, learnt], b0[learnt], self.C, self.max_iter
            )
            if self.pseudo_weight > 0 and len(unlabeled):
                W[:, learnt], b[learnt] = self._self_train(
                    centred,
                    Y,
                    W,
                    b,
                    W0[:, learnt],
                    b0[learnt],
                    learnt,
                    neighbors or exact_neighbors(corpus),
                )
        self.coef_ = W.T.astype(np.float32)
        self.intercept_ = b.astype(np.float32)
        self.n_features_in_ = d
        self.mode_: ThemeMode = self._mode(self.positives_)
        for name in ("lexical_coef_", "lexical_intercept_", "lexical_themes_"):
            self.__dict__.pop(name, None)
        if lexical is not None:
            self._fit_lexical(lexical, Y, learnt)
        return self

    def _self_train(
        self,
        corpus: np.ndarray,
        Y: np.ndarray,
        W: np.ndarray,
        b: np.ndarray,
        W0: np.ndarray,
        b0: np.ndarray,
        learnt: np.ndarray,
        neighbors: Neighbors,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Refit the learnt themes on the labeled records plus unlabeled ones (all of them, or
        ``max_pseudo`` drawn with a fixed seed), each of the latter pseudo-labeled with its most
        probable theme and weighing ``pseudo_weight`` of a labeled record. ``corpus``: the
        centred features, labeled rows first.

        A record's probabilities are first smoothed with its ``neighbors`` nearest corpus
        records' (their labels where they have them; share ``neighbor_share``): the corpus
        clusters by theme, so a neighbourhood corrects records that the few labels place
        badly. The refit stays a penalised logistic regression towards the same prior, so
        predictions need nothing but the weights (new records are not in the graph).
        """
        n = len(Y)
        chosen = np.arange(n, len(corpus))
        if len(chosen) > self.max_pseudo:
            chosen = np.sort(
                np.random.default_rng(0).choice(chosen, self.max_pseudo, replace=False)
            )
        W32 = W.astype(np.float32)
        proba = _sigmoid(corpus[chosen] @ W32 + b)
        if self.neighbors > 0 and len(corpus) > 1:
            nearest = neighbors(chosen, self.neighbors)
            # Every corpus record's probabilities (labels where labeled), for the neighbours.
            known = np.vstack([Y, _sigmoid(corpus[n:] @ W32 + b)]).astype(np.float32)
            found = nearest >= 0
            summed = np.where(found[..., None], known[np.maximum(nearest, 0)], 0.0).sum(axis=1)
            count = np.maximum(found.sum(axis=1, keepdims=True), 1)
            share = np.where(found.any(axis=1, keepdims=True), self.neighbor_share, 0.0)
            proba = (1.0 - share) * proba + share * summed / count
        pseudo = np.zeros_like(proba)
        pseudo[np.arange(len(proba)), proba.argmax(axis=1)] = 1.0
        weights = np.concatenate([np.ones(n), np.full(len(chosen), self.pseudo_weight)])
        rows = np.concatenate([np.arange(n), chosen])
        return _fit_towards_prior(
            corpus[rows], np.vstack([Y, pseudo])[:, learnt], W0, b0, self.C, self.max_iter, weights
        )

    def _fit_lexical(self, lexical: Any, Y: np.ndarray, learnt: np.ndarray) -> None:
        if lexical.ndim != 2 or lexical.shape[0] != len(Y):
            raise ValueError(f"lexical must have {len(Y)} rows (one per labeled record)")
        coef = np.zeros((Y.shape[1], lexical.shape[1]), dtype=np.float32)
        intercept = np.zeros(Y.shape[1], dtype=np.float32)
        for t in np.flatnonzero(learnt):
            # liblinear: sparse input, a few hundred ms for 13 themes on 2,000 records.
            model = LogisticRegression(
                C=self.lexical_C, class_weight="balanced", solver="liblinear", max_iter=1000
            ).fit(lexical, Y[:, t])
            coef[t], intercept[t] = model.coef_[0], model.intercept_[0]
        self.lexical_coef_, self.lexical_intercept_ = coef, intercept
        self.lexical_themes_ = learnt.astype(bool)

    def _mode(self, positives: np.ndarray) -> ThemeMode:
        if positives.sum() == 0:
            return "zero-shot"
        return "supervised" if positives.min() >= self.supervised_at else "blend"

    def predict_proba(self, X: Any, *, lexical: Any | None = None) -> np.ndarray:
        """Per-theme probabilities ``(m, k)``, each in [0, 1] and not summing to 1 (a record may
        have several themes). In zero-shot mode they follow the cosine to the theme text and
        rank well but are not calibrated. ``lexical``: the records' lexical features, used when
        the model was fitted with them."""
        check_is_fitted(self, "coef_")
        X = _matrix(X, "X", self.n_features_in_)
        proba = _sigmoid(self._features(X) @ self.coef_.T + self.intercept_)
        if lexical is None or not hasattr(self, "lexical_coef_"):
            return proba
        if lexical.ndim != 2 or lexical.shape != (len(X), self.lexical_coef_.shape[1]):
            raise ValueError(
                f"lexical must have shape {(len(X), self.lexical_coef_.shape[1])}, "
                f"not {lexical.shape}"
            )
        scores = lexical @ self.lexical_coef_.T
        scores = np.asarray(scores.todense() if issparse(scores) else scores)
        lexical_proba = _sigmoid(scores + self.lexical_intercept_)
        weight = self.lexical_weight * self.lexical_themes_
        return (1.0 - weight) * proba + weight * lexical_proba

    def suggest(
        self, X: Any, top: int = 3, threshold: float | None = None, *, lexical: Any | None = None
    ) -> list[list[tuple[str, float]]]:
        """For each record, up to ``top`` ``(theme, probability)`` pairs, most probable first;
        with ``threshold``, only those at or above it (``lexical`` as in ``predict_proba``)."""
        if top < 1:
            raise ValueError(f"top must be at least 1, not {top}")
        proba = self.predict_proba(X, lexical=lexical)
        order = np.argsort(-proba, axis=1, kind="stable")[:, :top]
        themes = [str(theme) for theme in self.themes]
        return [
            [(themes[t], float(row[t])) for t in ranked if threshold is None or row[t] >= threshold]
            for row, ranked in zip(proba, order, strict=True)
        ]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted model as plain arrays (for ``classifier.artifacts``; no pickle)."""
        check_is_fitted(self, "coef_")
        arrays = {
            "themes": np.array(list(self.themes), dtype=np.str_),
            "name_vectors": np.asarray(self.name_vectors, dtype=np.float32),
            "coef": self.coef_,
            "intercept": self.intercept_,
            "mean": self.mean_,
            "positives": self.positives_,
        }
        if hasattr(self, "lexical_coef_"):
            arrays |= {
                "lexical_coef": self.lexical_coef_,
                "lexical_intercept": self.lexical_intercept_,
                "lexical_themes": self.lexical_themes_,
            }
        if self.desc_vectors is not None:
            arrays["desc_vectors"] = np.asarray(self.desc_vectors, dtype=np.float32)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params: Any) -> ThemeModel:
        """A fitted model from ``to_arrays``' output; ``params`` set the hyper-parameters."""
        model = cls(
            themes=[str(theme) for theme in arrays["themes"]],
            name_vectors=np.asarray(arrays["name_vectors"], dtype=np.float32),
            desc_vectors=(
                np.asarray(arrays["desc_vectors"], dtype=np.float32)
                if "desc_vectors" in arrays
                else None
            ),
            **params,
        )
        model.coef_ = np.asarray(arrays["coef"], dtype=np.float32)
        model.intercept_ = np.asarray(arrays["intercept"], dtype=np.float32)
        model.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        model.positives_ = np.asarray(arrays["positives"], dtype=np.int64)
        model.n_features_in_ = model.coef_.shape[1]
        model.mode_ = model._mode(model.positives_)
        if "lexical_coef" in arrays:
            model.lexical_coef_ = np.asarray(arrays["lexical_coef"], dtype=np.float32)
            model.lexical_intercept_ = np.asarray(arrays["lexical_intercept"], dtype=np.float32)
            model.lexical_themes_ = np.asarray(arrays["lexical_themes"], dtype=bool)
        return model


def fit_theme_model(
    vectors: np.ndarray,
    Y: np.ndarray,
    names: np.ndarray,
    descriptions: np.ndarray | None,
    unlabeled: np.ndarray | None,
    *,
    lexical: Any | None = None,
    neighbors: Neighbors | None = None,
) -> ThemeModel:
    """The theme model as the service fits it (and ``bench/themes.py`` measures it): themes
    named by position, pulled towards their names' and descriptions' vectors, with the lexical
    part on ``lexical`` (the labeled records' TF-IDF rows) and self-trained on ``unlabeled``
    (the records without theme labels; neighbours by position in ``[vectors; unlabeled]``)."""
    model = ThemeModel([str(i) for i in range(len(names))], names, descriptions)
    return model.fit(vectors, Y, X_unlabeled=unlabeled, lexical=lexical, neighbors=neighbors)
