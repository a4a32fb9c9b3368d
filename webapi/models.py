"""The model seam: the one place that says which models rank records and suggest themes.

The service layer calls nothing in ``classifier/`` directly; it calls a ``ModelSuite``:

- ``features(vectors, texts)``: the feature matrix of a set of records, built once per state of
  a project's records (and for records posted from outside the project);
- ``fit(X, y, theme_X, theme_Y, theme_vectors)``: learn from the current decisions (``y``: 1
  include, 0 exclude) and theme labels; returns ``FittedModels``;
- ``ranking_scores`` (higher first), ``probabilities`` (calibrated P(include)),
  ``theme_scores`` / ``suggested_themes``, ``estimate_remaining``;
- ``save`` / ``load``: artifacts through ``classifier.artifacts`` (npz + JSON sidecar).

The production suite is ``ScreeningSuite`` (``DEFAULT_SUITE``): ``classifier.relevance`` with
TF-IDF + embedding features (``classifier.features.CorpusFeatures``), ``classifier.themes
.ThemeModel`` and ``classifier.estimate``. The interim suite, ``ModelSuite`` itself
(``classifier.baseline``: ``EmbeddingLogistic`` and ``ThemeBaseline`` on the embeddings), stays
as a named alternative and the base class. Nothing else in ``webapi/`` names a model class.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier.artifacts import ArtifactError, load_artifact, read_sidecar, save_artifact
from classifier.baseline import EmbeddingLogistic, ThemeBaseline
from classifier.estimate import estimate_remaining
from classifier.features import CorpusFeatures
from classifier.relevance import DEFAULT_SETTING, RelevanceModel
from classifier.relevance import SETTINGS as RELEVANCE_SETTINGS
from classifier.themes import ThemeModel

RELEVANCE_ARTIFACT = "relevance"
THEMES_ARTIFACT = "themes"


@dataclass
class FittedModels:
    """What one fit learned: the relevance model (``None`` before both classes are labelled),
    the theme model (``None`` when the project has no themes) and a description of both."""

    relevance: Any | None
    themes: Any | None
    meta: dict[str, Any] = field(default_factory=dict)


class ModelSuite:
    """Interim models: class-balanced logistic regression on record embeddings for relevance,
    ``ThemeBaseline`` for themes, and the sum of calibrated probabilities as the estimate."""

    name = "embedding-logistic"

    def features(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Record features; the interim models use the embeddings as they are."""
        return vectors

    def new_features(self, corpus: Any, vectors: np.ndarray, texts: Sequence[str]) -> Any:
        """Features of records from outside the project (a review update), comparable with the
        project's ``corpus`` features."""
        return self.features(vectors, texts)

    def take(self, X: Any, rows: np.ndarray | Sequence[int]) -> Any:
        """The features of some rows of ``X``, in the order given."""
        return X[np.asarray(rows, dtype=np.int64)]

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        theme_X: np.ndarray,
        theme_Y: np.ndarray,
        theme_vectors: np.ndarray | None,
        *,
        corpus: Any = None,
        theme_text: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> FittedModels:
        """Learn from the decisions (``X``, ``y``) and theme labels. ``theme_vectors``: one
        vector per theme for its name and description together; ``theme_text``: the names'
        and the descriptions' vectors apart (``None`` for descriptions when no theme has one);
        ``corpus``: the features of every record of the project. The interim models use
        ``theme_vectors`` only."""
        y = np.asarray(y, dtype=np.int64)
        relevance = None
        if len(y) and 0 < y.sum() < len(y):
            relevance = EmbeddingLogistic().fit(X, y)
        themes = None
        if theme_vectors is not None and len(theme_vectors):
            themes = ThemeBaseline().fit(theme_X, theme_Y, theme_vectors)
        meta = {
            "suite": self.name,
            "relevance_model": "EmbeddingLogistic" if relevance is not None else None,
            "theme_model": "ThemeBaseline" if themes is not None else None,
            "theme_mode": themes.mode_ if themes is not None else None,
            "labels": {"include": int(y.sum()), "exclude": int(len(y) - y.sum())},
            "theme_labelled": len(theme_Y),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return FittedModels(relevance, themes, meta)

    def ranking_scores(self, fitted: FittedModels, X: np.ndarray) -> np.ndarray:
        """Scores that order the queue (higher first)."""
        return fitted.relevance.predict_proba(X)[:, 1]

    def probabilities(self, fitted: FittedModels, X: np.ndarray) -> np.ndarray:
        """Calibrated P(include), for estimates and for records posted from outside."""
        return fitted.relevance.calibrated_proba(X)

    def theme_scores(self, fitted: FittedModels, X: np.ndarray) -> np.ndarray:
        return fitted.themes.predict_proba(X)

    def suggested_themes(self, fitted: FittedModels, X: np.ndarray) -> np.ndarray:
        return fitted.themes.predict(X)

    def estimate_remaining(
        self, probabilities: np.ndarray, *, labels_in_order: Sequence[int] = ()
    ) -> dict[str, Any]:
        """Relevant records expected among the unscreened ones: the sum of their calibrated
        probabilities, with a 95 % normal interval from the Poisson-binomial variance.

        Interim and optimistic about calibration: records the ranking picked for screening
        over-represent includes, so the sum tends to run high.
        """
        p = np.asarray(probabilities, dtype=np.float64)
        expected = float(p.sum())
        spread = 1.96 * math.sqrt(float((p * (1.0 - p)).sum()))
        return {
            "method": "calibrated-probability-sum",
            "expected": round(expected, 2),
            "low": round(max(0.0, expected - spread), 2),
            "high": round(min(float(len(p)), expected + spread), 2),
            "level": 0.95,
        }

    # -- artifacts ------------------------------------------------------------------------

    def save(self, folder: Path, fitted: FittedModels) -> None:
        """Write the fitted models as artifacts (the sidecars carry ``fitted.meta``)."""
        if fitted.relevance is not None:
            save_artifact(folder, RELEVANCE_ARTIFACT, fitted.relevance.to_arrays(), fitted.meta)
        else:
            (folder / f"{RELEVANCE_ARTIFACT}.json").unlink(missing_ok=True)
        if fitted.themes is not None:
            save_artifact(folder, THEMES_ARTIFACT, fitted.themes.to_arrays(), fitted.meta)
        else:
            (folder / f"{THEMES_ARTIFACT}.json").unlink(missing_ok=True)

    def saved_meta(self, folder: Path) -> dict[str, Any] | None:
        """The description of the last saved models, or ``None`` when nothing was saved."""
        for name in (RELEVANCE_ARTIFACT, THEMES_ARTIFACT):
            try:
                return read_sidecar(folder, name)
            except ArtifactError:
                continue
        return None

    def load(self, folder: Path) -> FittedModels | None:
        """The saved models, or ``None`` when there are none or they were not written by us."""
        meta = self.saved_meta(folder)
        if meta is None or meta.get("suite") != self.name:
            return None
        relevance = themes = None
        if meta.get("relevance_model"):
            arrays, _ = load_artifact(folder, RELEVANCE_ARTIFACT)
            relevance = EmbeddingLogistic.from_arrays(arrays)
        if meta.get("theme_model"):
            arrays, _ = load_artifact(folder, THEMES_ARTIFACT)
            themes = ThemeBaseline.from_arrays(arrays)
        return FittedModels(relevance, themes, meta)


class ScreeningSuite(ModelSuite):
    """The production models, chosen by the benchmarks in ``bench/``.

    Relevance: ``classifier.relevance.RelevanceModel`` of the named setting (the default is the
    one ``bench/screening.py`` chose): a logistic regression on the corpus's TF-IDF blended with
    the embeddings' similarity to the labelled includes. Its queue scores are z-scores over the
    unscreened records (higher first), not probabilities; ``probabilities`` are the logistic
    part's calibrated P(include). Themes: ``classifier.themes.ThemeModel`` on the embeddings
    with its TF-IDF option (the best measured by ``bench/themes.py``), starting from the themes'
    names and descriptions and taken over by the labels; refitted only
    when the theme labels or the corpus change, not after every include/exclude decision.
    Remaining includes: ``classifier.estimate`` (a depletion model of the decisions in order).
    """

    name = "screenwise"

    def __init__(self, setting: str = DEFAULT_SETTING) -> None:
        if setting not in RELEVANCE_SETTINGS:
            raise ValueError(
                f"unknown relevance setting {setting!r}; known: {', '.join(RELEVANCE_SETTINGS)}"
            )
        self.setting = setting
        self._themes_lock = threading.Lock()
        self._themes_cache: tuple[object, str, ThemeModel] | None = None

    def features(self, vectors: np.ndarray, texts: Sequence[str]) -> CorpusFeatures:
        """TF-IDF over the project's texts (vocabulary of the project) and the embeddings.

        A project without records, or whose texts have no word TF-IDF can keep, gets an empty
        vocabulary: its models then learn from the embeddings' similarity alone."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(texts):
            try:
                return CorpusFeatures.build(texts, vectors)
            except ValueError as e:
                if "vocabulary" not in str(e) and "no terms remain" not in str(e):
                    raise
        vectorizer = TfidfVectorizer(vocabulary={_NO_TERM: 0}).fit([_NO_TERM])
        empty = sp.csr_matrix((len(texts), 1), dtype=np.float32)
        return CorpusFeatures(empty, vectors, vectorizer)

    def new_features(
        self, corpus: CorpusFeatures, vectors: np.ndarray, texts: Sequence[str]
    ) -> CorpusFeatures:
        return corpus.transform(texts, vectors)

    def take(self, X: CorpusFeatures, rows: np.ndarray | Sequence[int]) -> CorpusFeatures:
        return X.subset(np.asarray(rows, dtype=np.int64))

    def fit(
        self,
        X: CorpusFeatures,
        y: np.ndarray,
        theme_X: CorpusFeatures,
        theme_Y: np.ndarray,
        theme_vectors: np.ndarray | None,
        *,
        corpus: CorpusFeatures | None = None,
        theme_text: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> FittedModels:
        started = time.perf_counter()
        y = np.asarray(y, dtype=np.int64)
        relevance = None
        if len(y) and 0 < y.sum() < len(y):
            relevance = RelevanceModel.from_setting(self.setting).fit(X, y)
        relevance_seconds = time.perf_counter() - started
        themes = None
        if theme_text is not None:
            names, descriptions = theme_text
            themes = self._fit_themes(theme_X, theme_Y, names, descriptions, corpus)
        meta = {
            "suite": self.name,
            "relevance_setting": self.setting if relevance is not None else None,
            "relevance_model": "RelevanceModel" if relevance is not None else None,
            "theme_model": "ThemeModel" if themes is not None else None,
            "theme_mode": themes.mode_ if themes is not None else None,
            "labels": {"include": int(y.sum()), "exclude": int(len(y) - y.sum())},
            "theme_labelled": len(theme_Y),
            "training_seconds": round(time.perf_counter() - started, 4),
            "metrics": _training_metrics(relevance, X, y) if relevance is not None else {},
            "relevance_seconds": round(relevance_seconds, 4),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return FittedModels(relevance, themes, meta)

    def _fit_themes(
        self,
        X: CorpusFeatures,
        Y: np.ndarray,
        names: np.ndarray,
        descriptions: np.ndarray | None,
        corpus: CorpusFeatures | None,
    ) -> ThemeModel:
        """The theme model of these labels, reused while the labels, the themes and the corpus
        (the same features object: it is rebuilt whenever the records change) stay."""
        digest = hashlib.sha256()
        for part in (X.vectors, Y, names, descriptions):
            array = np.ascontiguousarray(part if part is not None else np.zeros(0))
            digest.update(str(array.shape).encode())
            digest.update(array.tobytes())
        key = digest.hexdigest()
        with self._themes_lock:
            cached = self._themes_cache
            if cached is not None and cached[0] is corpus and cached[1] == key:
                return cached[2]
        model = ThemeModel([str(i) for i in range(len(names))], names, descriptions)
        unlabeled = corpus.vectors if corpus is not None else None
        model.fit(X.vectors, Y, X_unlabeled=unlabeled, lexical=X.tfidf)
        with self._themes_lock:
            self._themes_cache = (corpus, key, model)
        return model

    def ranking_scores(self, fitted: FittedModels, X: CorpusFeatures) -> np.ndarray:
        """z-scored blend over the rows given (the service passes the unscreened ones)."""
        return fitted.relevance.ranking_scores(X)

    def probabilities(self, fitted: FittedModels, X: CorpusFeatures) -> np.ndarray:
        return fitted.relevance.predict_proba(X)

    def theme_scores(self, fitted: FittedModels, X: CorpusFeatures) -> np.ndarray:
        return fitted.themes.predict_proba(X.vectors, lexical=X.tfidf)

    def suggested_themes(self, fitted: FittedModels, X: CorpusFeatures) -> np.ndarray:
        """The themes worth showing a reviewer as suggestions: probability at or above
        ``SUGGEST_THRESHOLD``; none at all for a record is a normal answer. Nothing before the
        model has theme labels: zero-shot scores rank the themes of a record but cannot tell
        that none fits (``bench/theme_threshold.py``: at any threshold, most records of a theme
        the project does not have would get a wrong suggestion)."""
        proba = self.theme_scores(fitted, X)
        if getattr(fitted.themes, "mode_", "zero-shot") == "zero-shot":
            return np.zeros(proba.shape, dtype=bool)
        return proba >= SUGGEST_THRESHOLD

    def estimate_remaining(
        self, probabilities: np.ndarray, *, labels_in_order: Sequence[int] = ()
    ) -> dict[str, Any]:
        """``classifier.estimate``: a 90 % interval from the decisions in the order made. The
        model's probabilities are left out: their sum runs far above what remains (measured by
        ``bench/estimate.py``), and with them the estimate got worse."""
        p = np.asarray(probabilities, dtype=np.float64)
        if not len(labels_in_order):
            return super().estimate_remaining(p)
        estimate = estimate_remaining(list(labels_in_order), len(p), level=ESTIMATE_LEVEL)
        return {
            "method": estimate.method,
            "expected": round(float(estimate.expected), 2),
            "low": round(float(estimate.low), 2),
            "high": round(float(estimate.high), 2),
            "level": estimate.level,
        }

    def load(self, folder: Path) -> FittedModels | None:
        meta = self.saved_meta(folder)
        if meta is None or meta.get("suite") != self.name:
            return None
        if meta.get("relevance_setting") not in (None, self.setting):
            return None
        relevance = themes = None
        if meta.get("relevance_model"):
            arrays, _ = load_artifact(folder, RELEVANCE_ARTIFACT)
            relevance = RelevanceModel.from_setting(self.setting)
            relevance = RelevanceModel.from_arrays(arrays, **relevance.get_params())
        if meta.get("theme_model"):
            arrays, _ = load_artifact(folder, THEMES_ARTIFACT)
            themes = ThemeModel.from_arrays(arrays)
        return FittedModels(relevance, themes, meta)


def _training_metrics(relevance: Any, X: CorpusFeatures, y: np.ndarray) -> dict[str, float]:
    """How well the relevance model separates its own training decisions (an optimistic
    figure, recorded to spot a broken fit; ``bench/screening.py`` measures real quality)."""
    from sklearn.metrics import roc_auc_score

    scores = relevance.decision_function(X)
    return {"training_auc": round(float(roc_auc_score(y, scores)), 4)}


ESTIMATE_LEVEL = 0.9
# A theme is suggested at this probability or more (once the model has theme labels): the
# lowest threshold of bench/theme_threshold.py at which suggestions were right >= 90 % of the
# time with 5, 20 and all labelled records per theme (0.97-1.00) and <= 10 % of the records of a
# theme left out of the project got one (1 %; 85 % at 0.5).
SUGGEST_THRESHOLD = 0.6
_NO_TERM = "screenwise-no-term"

DEFAULT_SUITE = ScreeningSuite
