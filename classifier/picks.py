"""Representative picks per theme: a short list of records central to a theme and different
from each other, each with the reason it was picked.

``pick_representatives(X, n)`` runs maximal marginal relevance (MMR, Carbonell & Goldstein
1998) over the theme's members' L2-normalised embeddings: at each step the record maximising
``lambda * centrality - (1 - lambda) * (highest cosine to a record already picked)``, where
centrality is the cosine to the theme's centre (the normalised mean of its members). With
``reviews_first``, reviews (``is_review``) are picked before the other records, by the same
rule: a scoping review's team reads the existing reviews of a theme first, as the seed
review did (26 sources within its themes, reviews first).

Numpy in, numpy out: rows of ``X`` are the ids, and the reason's text names no record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

N_PICKS = 5
LAMBDA = 0.7
# A record is a review when its study type says so, or, where no study type is known, its
# title or abstract names one.
REVIEW_TYPES = frozenset(
    {"review", "systematic review", "scoping review", "meta-analysis", "narrative review"}
)
REVIEW_PATTERN = re.compile(
    r"\b(systematic(ally)?\s+review|scoping\s+review|meta-?analys[ie]s|literature\s+review"
    r"|narrative\s+review|umbrella\s+review|rapid\s+review|review\s+of\s+(the\s+)?literature"
    r"|an?\s+(\w+\s+)?review)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Pick:
    """One picked row: its place in the pick order, centrality (cosine to the theme's centre)
    and rank by it, the highest cosine to an earlier pick, whether it is a review, and why."""

    row: int
    order: int
    centrality: float
    central_rank: int
    redundancy: float | None
    review: bool
    reason: str


def is_review(
    texts: Sequence[str],
    ids: Sequence[int] | None = None,
    study_types: Mapping[int, str] | None = None,
) -> np.ndarray:
    """Which records are reviews: by their study type where ``study_types`` (record id ->
    type) has one, else by ``REVIEW_PATTERN`` over the record's title and abstract."""
    known = study_types or {}
    out = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        kind = known.get(int(ids[i])) if ids is not None else None
        if kind:
            low = kind.strip().lower()
            out[i] = low in REVIEW_TYPES or "review" in low or "meta-analysis" in low
        else:
            out[i] = bool(REVIEW_PATTERN.search(text or ""))
    return out


def pick_representatives(
    X: np.ndarray,
    n: int = N_PICKS,
    *,
    reviews: np.ndarray | None = None,
    reviews_first: bool = False,
    lam: float = LAMBDA,
) -> list[Pick]:
    """Up to ``n`` rows of ``X`` (a theme's members' embeddings), in pick order, by maximal
    marginal relevance; ``reviews`` marks the rows that are reviews (shown in the reasons,
    and picked first with ``reviews_first``)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array of embeddings, not shape {X.shape}")
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be between 0 and 1, not {lam}")
    reviews = np.zeros(len(X), dtype=bool) if reviews is None else np.asarray(reviews, bool)
    if len(reviews) != len(X):
        raise ValueError(f"reviews has {len(reviews)} entries for {len(X)} rows of X")
    if not len(X):
        return []
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    X = X / np.where(norms > 0, norms, 1.0)
    centre = X.mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    central = X @ centre
    central_rank = np.empty(len(X), dtype=np.int64)
    central_rank[np.argsort(-central, kind="stable")] = np.arange(1, len(X) + 1)
    nearest_pick = np.full(len(X), -np.inf, dtype=np.float32)  # highest cosine to a pick
    which_pick = np.full(len(X), -1, dtype=np.int64)
    free = np.ones(len(X), dtype=bool)
    picks: list[Pick] = []
    for order in range(min(n, len(X))):
        pool = free & reviews if reviews_first and (free & reviews).any() else free
        redundancy = np.where(np.isfinite(nearest_pick), nearest_pick, 0.0)
        score = lam * central - (1.0 - lam) * redundancy
        score = np.where(pool, score, -np.inf)
        row = int(np.argmax(score))
        picks.append(
            Pick(
                row=row,
                order=order + 1,
                centrality=round(float(central[row]), 4),
                central_rank=int(central_rank[row]),
                redundancy=None if not picks else round(float(nearest_pick[row]), 4),
                review=bool(reviews[row]),
                reason=_reason(
                    central_rank[row],
                    len(X),
                    float(central[row]),
                    None if not picks else (float(nearest_pick[row]), int(which_pick[row])),
                    bool(reviews[row]),
                    reviews_first,
                ),
            )
        )
        free[row] = False
        similarity = X @ X[row]
        closer = similarity > nearest_pick
        nearest_pick = np.where(closer, similarity, nearest_pick)
        which_pick = np.where(closer, order + 1, which_pick)
    return picks


def _reason(
    rank: int,
    total: int,
    centrality: float,
    nearest: tuple[float, int] | None,
    review: bool,
    reviews_first: bool,
) -> str:
    parts = []
    if review:
        parts.append("a review" + (" (reviews first)" if reviews_first else ""))
    parts.append(f"central to the theme: {rank} of {total} by closeness to its centre")
    parts[-1] += f" (cosine {centrality:.2f})"
    if nearest is not None:
        similarity, earlier = nearest
        parts.append(
            f"adds a different angle: cosine {similarity:.2f} to the nearest pick (#{earlier})"
        )
    return "; ".join(parts)
