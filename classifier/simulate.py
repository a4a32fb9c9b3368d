"""Replay a labelled dataset as a review: priors, then one record at a time from the top of the
queue, retraining as decisions arrive, and the screening metrics of the order that results."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from classifier.features import CorpusFeatures
from classifier.metrics import recall_curve, screening_metrics
from classifier.ranking import fit_relevance, pool_scores
from classifier.relevance import DEFAULT_SETTING

__all__ = ["SimulationRun", "draw_priors", "plot_recall", "simulate"]

Retrain = Literal["every", "fast"]


@dataclass
class SimulationRun:
    """One simulated review: ``priors`` and ``order`` are row positions in the dataset, ``order``
    holds every record, priors first; ``metrics`` are those of ``order`` after the priors."""

    seed: int
    priors: list[int]
    order: list[int]
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def draw_priors(
    labels: np.ndarray, seed: int, n_included: int = 1, n_excluded: int = 1
) -> list[int]:
    """Row positions of ``n_included`` relevant and ``n_excluded`` irrelevant records drawn at
    random with ``seed``, includes first."""
    labels = np.asarray(labels).ravel()
    includes, excludes = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    if n_included > len(includes) or n_excluded > len(excludes):
        raise ValueError(
            f"cannot draw {n_included} includes and {n_excluded} excludes from "
            f"{len(includes)} and {len(excludes)}"
        )
    rng = np.random.default_rng(seed)
    chosen = list(rng.choice(includes, n_included, replace=False))
    chosen += list(rng.choice(excludes, n_excluded, replace=False))
    return [int(row) for row in chosen]


def _retrain_now(n_labelled: int, since_last: int, retrain: Retrain) -> bool:
    # The study's schedule: every label below 100 labelled, then every n_labelled // 20.
    if retrain == "every" or n_labelled < 100:
        return True
    return since_last >= max(1, n_labelled // 20)


def simulate(
    features: CorpusFeatures,
    labels: np.ndarray,
    *,
    seed: int,
    setting: str = DEFAULT_SETTING,
    n_prior_included: int = 1,
    n_prior_excluded: int = 1,
    priors: Sequence[int] | None = None,
    retrain: Retrain = "every",
    question_vector: np.ndarray | None = None,
    question: np.ndarray | None = None,
    progress: bool = False,
) -> SimulationRun:
    """Screen every record of a labelled dataset with the model of ``setting``.

    The priors (``priors`` as row positions, else drawn with ``seed``) are labelled first; then
    the top unscreened record of the current ranking is labelled, one at a time, ties to the
    lowest row. ``retrain="every"`` refits after each label; ``"fast"`` follows the study's
    schedule (after each label until 100 are labelled, then every ``n_labelled // 20``, taking
    the next records from the last ranking meanwhile), which changed mean loss by < 0.002 there.
    ``question``: the question signal of every row (``classifier.question.question_signal``),
    for the settings that weigh it.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    if len(labels) != len(features):
        raise ValueError(f"features has {len(features)} rows but labels has {len(labels)}")
    if retrain not in ("every", "fast"):
        raise ValueError(f"retrain must be 'every' or 'fast', not {retrain!r}")
    started = time.perf_counter()
    if priors is None:
        priors = draw_priors(labels, seed, n_prior_included, n_prior_excluded)
    priors = [int(row) for row in priors]
    if len(set(priors)) != len(priors) or not all(0 <= row < len(labels) for row in priors):
        raise ValueError("priors must be distinct row positions of the dataset")
    order = list(priors)
    screened = np.zeros(len(labels), dtype=bool)
    screened[priors] = True
    queue: list[int] = []
    since_last = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(labels), initial=len(order), desc=f"seed {seed}", unit="rec")
    while len(order) < len(labels):
        if not queue or _retrain_now(len(order), since_last, retrain):
            known = np.asarray(order)
            pool = np.flatnonzero(~screened)
            y = labels[known]
            # The service's own path (classifier.ranking): the same model, mode and scores.
            ranked = pool_scores(
                features,
                pool,
                model=fit_relevance(
                    features, known, y, setting, order=np.arange(len(known)), question=question
                ),
                include_rows=np.sort(known[y == 1]),
                question_vector=question_vector,
                question=question,
            )
            scores = ranked.scores if ranked.scores is not None else np.zeros(len(pool))
            queue = list(pool[np.argsort(-scores, kind="stable")][::-1])
            since_last = 0
        row = int(queue.pop())
        order.append(row)
        screened[row] = True
        since_last += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - started
    after_priors = labels[order[len(priors) :]]
    metrics = screening_metrics(after_priors) if after_priors.sum() else {}
    return SimulationRun(seed=seed, priors=priors, order=order, metrics=metrics, seconds=seconds)


def plot_recall(
    runs: Sequence[SimulationRun],
    labels: np.ndarray,
    path: str | Path | BinaryIO,
    *,
    title: str | None = None,
) -> None:
    """A PNG of each run's recall curve (priors excluded) against random and perfect screening,
    titled ``title`` (what was simulated: the dataset, the setting, the seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(labels).astype(np.int64).ravel()
    figure, axes = plt.subplots(figsize=(6, 4.5))
    M = R = 0
    for run in runs:
        after = labels[run.order[len(run.priors) :]]
        M, R = len(after), int(after.sum())
        x = np.arange(1, M + 1)
        axes.plot(x, recall_curve(after), linewidth=1.2, label=f"seed {run.seed}")
    if M:
        x = np.arange(0, M + 1)
        axes.plot(x, x / M, color="grey", linestyle="--", label="random")
        axes.plot(x, np.minimum(x, R) / R, color="black", linestyle=":", label="perfect")
    axes.set_xlabel("records screened (after the priors)")
    axes.set_ylabel("recall")
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower right")
    if title:
        # Text, never mathtext: a dataset's name may hold "$" or "_".
        axes.set_title(title, fontsize=10, loc="left", parse_math=False, wrap=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120, metadata={"Title": title} if title else None)
    plt.close(figure)
