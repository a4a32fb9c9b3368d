"""The model seam: the one place that says which models rank records and suggest themes.

The service layer calls nothing in ``classifier/`` directly; it calls a ``ModelSuite``:

- ``features(vectors, texts)``: the feature matrix of a set of records, built once per state of
  a project's records (and for records posted from outside the project);
- ``fit(X, y, theme_X, theme_Y, theme_vectors)``: learn from the current decisions (``y``: 1
  include, 0 exclude) and theme labels; returns ``FittedModels``;
- ``ranking_scores`` (higher first), ``probabilities`` (calibrated P(include)),
  ``theme_scores`` / ``suggested_themes``, ``estimate_remaining``;
- ``save`` / ``load``: artifacts through ``classifier.artifacts`` (npz + JSON sidecar).

The interim suite is ``classifier.baseline``: ``EmbeddingLogistic`` on the embeddings and
``ThemeBaseline``. To plug in the production models (``classifier.relevance`` with its TF-IDF +
embedding features, ``classifier.themes.ThemeModel``, ``classifier.estimate``), write a
``ModelSuite`` subclass that overrides these methods (TF-IDF features go in ``features``, using
``texts``) and hand it to ``Screenwise(models=...)``, or change ``DEFAULT_SUITE`` below. Nothing
else in ``webapi/`` names a model class.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from classifier.artifacts import ArtifactError, load_artifact, read_sidecar, save_artifact
from classifier.baseline import EmbeddingLogistic, ThemeBaseline

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

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        theme_X: np.ndarray,
        theme_Y: np.ndarray,
        theme_vectors: np.ndarray | None,
    ) -> FittedModels:
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

    def estimate_remaining(self, probabilities: np.ndarray) -> dict[str, Any]:
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


DEFAULT_SUITE = ModelSuite
