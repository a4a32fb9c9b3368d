"""The ranked queue as pure functions of scores, ids and what is already screened."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["question_scores", "rank"]


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
