"""The model seam: the one place that says which models rank records and suggest themes.

The service layer calls ``classifier/`` through a ``ModelSuite`` (and ``classifier.ranking``
for the queue's scores, the same functions the simulator calls):

- ``features(vectors, texts)``: the feature matrix of a set of records, built once per state of
  a project's records (and for records posted from outside the project);
- ``fit(X, y, theme_X, theme_Y, ...)``: learn from the current decisions (``y``: 1 include, 0
  exclude) and theme labels; returns ``FittedModels``;
- ``ranking_scores`` (higher first), ``probabilities`` (calibrated P(include)),
  ``theme_scores`` / ``suggested_themes``, ``estimate_remaining``;
- ``save`` / ``load``: artifacts through ``classifier.artifacts`` (npz + JSON sidecar).

The suite (``DEFAULT_SUITE``; ``ScreeningSuite`` is the same class): ``classifier.relevance``
with TF-IDF + embedding features (``classifier.features.CorpusFeatures``),
``classifier.themes.fit_theme_model`` and ``classifier.estimate``. Nothing else in ``webapi/``
names a model class.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier.artifacts import ArtifactError, load_artifact, read_sidecar, save_artifact
from classifier.estimate import estimate_remaining
from classifier.features import CorpusFeatures, TextFeatures
from classifier.ranking import fit_relevance
from classifier.relevance import DEFAULT_SETTING, RelevanceModel
from classifier.relevance import SETTINGS as RELEVANCE_SETTINGS
from classifier.themes import Neighbors, ThemeModel, fit_theme_model

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
    """The production models, chosen by the benchmarks in ``bench/``.

    Relevance: ``classifier.relevance.RelevanceModel`` of the named setting (the default is the
    one ``bench/screening.py`` chose): a logistic regression on the corpus's TF-IDF blended with
    the embeddings' similarity to the labelled includes. Its queue scores are a blend of parts
    scaled over the unscreened records (higher first), not probabilities; ``probabilities``
    are the logistic part's calibrated P(include). Themes: ``classifier.themes.ThemeModel`` on
    the embeddings with its TF-IDF option (the best measured by ``bench/themes.py``), starting
    from the themes' names and descriptions and taken over by the labels; refitted only
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
        self._themes_cache: OrderedDict[Hashable, tuple[object, str, ThemeModel]] = OrderedDict()

    def features(
        self, vectors: np.ndarray, texts: Sequence[str], lexical: Sequence[str] | None = None
    ) -> CorpusFeatures:
        """TF-IDF over the project's texts (vocabulary of the project) and the embeddings."""
        return self.text_features(texts, lexical).with_vectors(
            np.asarray(vectors, dtype=np.float32)
        )

    def text_features(
        self, texts: Sequence[str], lexical: Sequence[str] | None = None
    ) -> TextFeatures:
        """The TF-IDF half of ``features`` (it depends on the texts alone); ``lexical``: what
        the relevance TF-IDF reads (title, abstract and keywords; ``TextFeatures.build``).

        A project without records, or whose texts have no word TF-IDF can keep, gets an empty
        vocabulary: its models then learn from the embeddings' similarity alone."""
        if len(texts):
            try:
                return TextFeatures.build(texts, lexical)
            except ValueError as e:
                if "vocabulary" not in str(e) and "no terms remain" not in str(e):
                    raise
        vectorizer = TfidfVectorizer(vocabulary={_NO_TERM: 0}).fit([_NO_TERM])
        return TextFeatures(sp.csr_matrix((len(texts), 1), dtype=np.float32), vectorizer)

    def embedding_features(self, vectors: np.ndarray) -> CorpusFeatures:
        """Features of the embeddings alone (an empty vocabulary): what a ranking with nothing
        to learn from words yet reads (the question, the nearest include)."""
        vectorizer = TfidfVectorizer(vocabulary={_NO_TERM: 0}).fit([_NO_TERM])
        empty = sp.csr_matrix((len(vectors), 1), dtype=np.float32)
        return TextFeatures(empty, vectorizer).with_vectors(np.asarray(vectors, np.float32))

    def new_features(
        self,
        corpus: CorpusFeatures,
        vectors: np.ndarray,
        texts: Sequence[str],
        lexical: Sequence[str] | None = None,
    ) -> CorpusFeatures:
        return corpus.transform(texts, vectors, lexical)

    def take(self, X: CorpusFeatures, rows: np.ndarray | Sequence[int]) -> CorpusFeatures:
        return X.subset(np.asarray(rows, dtype=np.int64))

    def fit(
        self,
        X: CorpusFeatures,
        y: np.ndarray,
        theme_X: CorpusFeatures,
        theme_Y: np.ndarray,
        *,
        theme_text: tuple[np.ndarray, np.ndarray | None] | None = None,
        theme_unlabeled: np.ndarray | None = None,
        neighbors: Neighbors | None = None,
        corpus: object = None,
        cache_key: Hashable = None,
        order: np.ndarray | None = None,
        question: np.ndarray | None = None,
    ) -> FittedModels:
        """Learn from the decisions (``X`` the labelled records in corpus order, ``y``: 1
        include, 0 exclude) and the theme labels (``theme_X``, ``theme_Y``).

        ``theme_text``: the theme names' and descriptions' vectors (``None`` for descriptions
        when no theme has one; ``None`` altogether when the project has no themes);
        ``theme_unlabeled``: the embeddings of the records without theme labels, which
        self-train the theme model; ``neighbors``: nearest neighbours by position in
        ``[theme_X; theme_unlabeled]``
        (the project's FAISS index); ``cache_key``: the project, whose latest theme model is
        reused while its labels, themes and ``corpus`` (the features object of all its
        records, rebuilt whenever they change) stay the same. ``order``: when each label was
        given (decision ids), ``question``: the question signal of the labelled records (both
        read only by the settings that use them)."""
        started = time.perf_counter()
        y = np.asarray(y, dtype=np.int64)
        relevance = fit_relevance(
            X, np.arange(len(y)), y, self.setting, order=order, question=question
        )
        relevance_seconds = time.perf_counter() - started
        themes = None
        if theme_text is not None:
            names, descriptions = theme_text
            themes = self._fit_themes(
                theme_X,
                theme_Y,
                names,
                descriptions,
                theme_unlabeled,
                neighbors,
                (cache_key, corpus),
            )
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
        unlabeled: np.ndarray | None,
        neighbors: Neighbors | None,
        cache: tuple[Hashable, object],
    ) -> ThemeModel:
        """``classifier.themes.fit_theme_model`` (what ``bench/themes.py`` measures), reused
        while the labels, the themes and the corpus (the same features object: it is rebuilt
        whenever the records change) stay; one cached model per project, the most recently
        used ``THEME_CACHE_SIZE`` projects kept."""
        digest = hashlib.sha256()
        for part in (X.vectors, Y, names, descriptions):
            array = np.ascontiguousarray(part if part is not None else np.zeros(0))
            digest.update(str(array.shape).encode())
            digest.update(array.tobytes())
        key = digest.hexdigest()
        cache_key, corpus = cache
        with self._themes_lock:
            cached = self._themes_cache.get(cache_key)
            if (
                cached is not None
                and corpus is not None
                and cached[0] is corpus
                and cached[1] == key
            ):
                self._themes_cache.move_to_end(cache_key)
                return cached[2]
        model = fit_theme_model(
            X.vectors,
            Y,
            names,
            descriptions,
            unlabeled,
            lexical=X.theme_tfidf,
            neighbors=neighbors,
        )
        with self._themes_lock:
            self._themes_cache[cache_key] = (corpus, key, model)
            self._themes_cache.move_to_end(cache_key)
            while len(self._themes_cache) > THEME_CACHE_SIZE:
                self._themes_cache.popitem(last=False)
        return model

    def ranking_scores(
        self, fitted: FittedModels, X: CorpusFeatures, question: np.ndarray | None = None
    ) -> np.ndarray:
        """The blend of parts scaled over the rows given (the service passes the unscreened ones);
        ``question``: their question signal, for a setting that weighs it."""
        return fitted.relevance.ranking_scores(X, question)

    def probabilities(self, fitted: FittedModels, X: CorpusFeatures) -> np.ndarray:
        return fitted.relevance.predict_proba(X)

    def theme_scores(self, fitted: FittedModels, X: CorpusFeatures) -> np.ndarray:
        return fitted.themes.predict_proba(X.vectors, lexical=X.theme_tfidf)

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
        self, unscreened: int, *, labels_in_order: Sequence[int] = ()
    ) -> dict[str, Any]:
        """``classifier.estimate``: a 90 % interval from the decisions in the order made and
        the number of ``unscreened`` records. The model's probabilities are left out: their sum
        runs far above what remains (measured by ``bench/estimate.py``), and with them the
        estimate got worse, so they are not even computed."""
        if not len(labels_in_order):
            return {"method": None, "expected": None, "low": None, "high": None, "level": None}
        estimate = estimate_remaining(list(labels_in_order), unscreened, level=ESTIMATE_LEVEL)
        return {
            "method": estimate.method,
            "expected": round(float(estimate.expected), 2),
            "low": round(float(estimate.low), 2),
            "high": round(float(estimate.high), 2),
            "level": estimate.level,
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
THEME_CACHE_SIZE = 8
# A theme is suggested at this probability or more (once the model has theme labels): the
# lowest threshold of bench/theme_threshold.py at which suggestions were right >= 90 % of the
# time with 5, 20 and all labelled records per theme (0.97-1.00) and <= 10 % of the records of a
# theme left out of the project got one (1 %; 85 % at 0.5).
SUGGEST_THRESHOLD = 0.6
_NO_TERM = "screenwise-no-term"

ScreeningSuite = ModelSuite
DEFAULT_SUITE = ModelSuite
