"""The ranked queue as pure functions of features, labels and what is already screened.

One code path for the service and the simulator: ``fit_relevance`` learns from the labelled
rows, ``pool_scores`` picks the mode (the model once both classes are labelled; before that the
nearest labelled include, else the review question, else none) and scores the rows asked for,
``rank`` orders them. ``webapi`` and ``classifier.simulate`` call these and nothing else to
decide what a reviewer screens next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from classifier.features import CorpusFeatures
from classifier.relevance import DEFAULT_SETTING, RelevanceModel

__all__ = ["PoolScores", "RankingMode", "fit_relevance", "pool_scores", "question_scores", "rank"]

RankingMode = Literal["model", "similarity", "question", "none"]


@dataclass(frozen=True)
class PoolScores:
    """Scores of some rows (higher first) and the mode that produced them; ``scores`` is
    ``None`` in mode ``"none"`` (no include, no question: the records keep their order)."""

    mode: RankingMode
    scores: np.ndarray | None


def fit_relevance(
    features: CorpusFeatures,
    rows: np.ndarray,
    labels: np.ndarray,
    setting: str = DEFAULT_SETTING,
    *,
    order: np.ndarray | None = None,
    question: np.ndarray | None = None,
) -> RelevanceModel | None:
    """The relevance model of ``setting`` fitted on the labelled ``rows`` of ``features``
    (``labels``: 1 include, 0 exclude), or ``None`` until both classes are labelled.

    The rows are put in corpus order first, so the model depends on which records are
    labelled, never on the order the decisions arrived in (the service and the simulator
    learn the same model from the same labels). ``order`` (one value per row: its place in the
    sequence of decisions, any increasing numbers such as decision ids) lets the settings that
    read the recent decisions (tail phase, adaptive weights) read them; ``question`` is the
    question signal of every row of ``features`` (``classifier.question.question_signal``)."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if len(rows) != len(labels):
        raise ValueError(f"rows has {len(rows)} values but labels has {len(labels)}")
    if not len(labels) or labels.min() == labels.max():
        return None
    by_row = np.argsort(rows, kind="stable")
    if order is not None:
        order = np.asarray(order).ravel()
        if len(order) != len(rows):
            raise ValueError(f"order has {len(order)} values but rows has {len(rows)}")
        order = order[by_row]
    return RelevanceModel.from_setting(setting).fit(
        features.subset(rows[by_row]),
        labels[by_row],
        order=order,
        question=question[rows[by_row]] if question is not None else None,
    )


def pool_scores(
    features: CorpusFeatures,
    rows: np.ndarray,
    *,
    model: RelevanceModel | None,
    include_rows: np.ndarray,
    question_vector: np.ndarray | None = None,
    question: np.ndarray | None = None,
) -> PoolScores:
    """Scores of ``rows`` of ``features`` for the queue.

    With a fitted ``model``, its ranking scores (z-scored over ``rows``: pass the unscreened
    pool, as the benchmark does); before that, the highest cosine to a labelled include
    (``include_rows``); with no include yet, the cosine to the review question; else none.
    """
    rows = np.asarray(rows, dtype=np.int64).ravel()
    include_rows = np.asarray(include_rows, dtype=np.int64).ravel()
    if model is not None:
        if not len(rows):
            return PoolScores("model", np.zeros(0))
        signal = question[rows] if question is not None else None
        return PoolScores("model", model.ranking_scores(features.subset(rows), signal))
    vectors = features.vectors[rows]
    if len(include_rows):
        return PoolScores("similarity", (vectors @ features.vectors[include_rows].T).max(axis=1))
    if question_vector is not None and len(features):
        return PoolScores("question", question_scores(vectors, question_vector))
    return PoolScores("none", None)


def rank(scores: np.ndarray, ids: np.ndarray, screened: Iterable[int] = ()) -> np.ndarray:
    """The ids of the unscreened records, best (highest score) first.

    Equal scores keep their order in ``ids`` (a stable sort), as ASReview's queue does, so a
    ranking is reproducible. ``screened`` holds ids, not positions; unknown ids are ignored.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    ids = np.asarray(ids).ravel()
    if len(scores) != len(ids):
        raise ValueError(f"scores has {len(scores)} values but ids has {len(ids)}")
    done = np.fromiter(screened, dtype=ids.dtype if ids.dtype.kind in "iu" else object)
    keep = ~np.isin(ids, done) if len(done) else np.ones(len(ids), dtype=bool)
    order = np.argsort(-scores[keep], kind="stable")
    return ids[keep][order]


def question_scores(vectors: np.ndarray, question_vector: np.ndarray) -> np.ndarray:
    """Cold start: the cosine of each record to the review question (or inclusion criteria).

    ``vectors`` are the records' embeddings, shape (n, d); neither input needs to be normalised.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    question = np.asarray(question_vector, dtype=np.float32).ravel()
    if vectors.ndim != 2 or vectors.shape[1] != len(question):
        raise ValueError(
            f"question_vector has {len(question)} dimensions, vectors have shape {vectors.shape}"
        )
    norm = float(np.linalg.norm(question))
    if norm == 0:
        raise ValueError("question_vector is all zeros")
    row_norms = np.linalg.norm(vectors, axis=1)
    return (vectors @ question) / (norm * np.where(row_norms > 0, row_norms, 1.0))
