"""Screening metrics of one simulated review, the published ASReview definitions.

Every function takes the labels (1 include, 0 exclude) in the order the records were screened,
with the prior records already removed: ``M`` is the number of records left after the priors and
``R`` the number of relevant ones among them. A truncated order (a run that stopped at the last
relevant record) must be padded with zeros up to ``M``, since ``M`` enters every metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["recall_curve", "screening_metrics", "wss"]


def _labels(labels_in_order: Sequence[int]) -> np.ndarray:
    labels = np.asarray(labels_in_order, dtype=np.int64).ravel()
    if len(labels) == 0:
        raise ValueError("labels_in_order is empty")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels_in_order must hold only 0 and 1")
    if labels.sum() == 0:
        raise ValueError("labels_in_order holds no relevant record; the metrics are undefined")
    return labels


def recall_curve(labels_in_order: Sequence[int]) -> np.ndarray:
    """Cumulative fraction of the relevant records found after each screened record."""
    labels = _labels(labels_in_order)
    return np.cumsum(labels) / labels.sum()


def wss(labels_in_order: Sequence[int], recall: float) -> float:
    """Work saved over sampling at ``recall``, in percent: ``(M - n_r)/M - (1 - r)`` where
    ``n_r`` is the 1-based position at which ``ceil(r * R)`` relevant records have been found."""
    labels = _labels(labels_in_order)
    if not 0 < recall <= 1:
        raise ValueError(f"recall must lie in (0, 1], not {recall}")
    M, R = len(labels), int(labels.sum())
    # The tolerance keeps ceil(0.95 * 20) at 19 despite 0.95 * 20 = 19.000000000000004.
    needed = math.ceil(recall * R - 1e-9)
    n_r = int(np.searchsorted(np.cumsum(labels), needed)) + 1
    return 100.0 * ((M - n_r) / M - (1.0 - recall))


def screening_metrics(labels_in_order: Sequence[int]) -> dict[str, float]:
    """RRF@10, WSS@95 and WSS@100 in percent, loss and ATD as fractions.

    - ``rrf10``: percent of the ``R`` relevant records found in the first ``floor(0.10 * M)``.
    - ``wss95``, ``wss100``: see ``wss``.
    - ``loss``: ``(R(M - (R-1)/2) - sum(cumsum(labels))) / (R(M - R))``, the area between the
      perfect recall curve and this one, scaled so 0 is a perfect ranking and 1 the worst;
      0 when every record is relevant.
    - ``atd``: the mean 1-based position of the relevant records, divided by ``M``.
    """
    labels = _labels(labels_in_order)
    M, R = len(labels), int(labels.sum())
    found = np.cumsum(labels)
    top = math.floor(0.10 * M)
    rrf10 = 100.0 * (found[top - 1] if top > 0 else 0) / R
    loss = 0.0 if R == M else (R * (M - (R - 1) / 2) - float(found.sum())) / (R * (M - R))
    positions = np.flatnonzero(labels) + 1
    return {
        "rrf10": float(rrf10),
        "wss95": wss(labels, 0.95),
        "wss100": wss(labels, 1.0),
        "loss": float(loss),
        "atd": float(positions.mean() / M),
    }
