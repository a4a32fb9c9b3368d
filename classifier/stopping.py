"""When screening may stop: a statistical test with a recall target and a confidence level,
and the two rules it is measured against.

The test (``METHOD``): BUSCAR's hypergeometric test
----------------------------------------------------
Callaghan & Müller-Hansen (2020), "Statistical stopping criteria for automated screening in
systematic reviews", Systematic Reviews 9:273. With ``r`` includes found so far, recall is below
the target ``τ`` exactly when the whole corpus holds more than ``r/τ`` relevant records, that is
at least ``K = floor(r/τ) + 1``; the null hypothesis H0 "recall < τ" then puts at least
``K − r`` of them among the unscreened records. Take the most recent ``j`` decisions (a
*window*, holding ``k`` includes) and treat them as a random sample drawn from an urn made of
the window and the unscreened records together (``U + j`` records). Under H0 the urn holds at
least ``K − (r − k)`` relevant records, and the chance of drawing ``k`` or fewer of them in ``j``
draws is the hypergeometric CDF

    p_j = P(X ≤ k),  X ~ Hypergeometric(population U + j, relevant K − r + k, draws j).

As in the paper and its published code, every window ending at the last decision is tested
and the smallest ``p_j`` is the p-value; H0 is rejected, and screening may stop, when it falls
below ``1 − level``. When H0 would need more relevant records than there are unscreened
records, it is impossible and ``p = 0``.

Only ``r + 1`` windows need computing: lengthening a window by an exclude (one more draw, one
more record in the urn, the same hits) lowers ``p_j`` (the records left out of the draw are
then drawn from a larger urn with the same number of relevant ones, so fewer of them are
relevant), so the smallest ``p_j`` is always at a window that reaches back to just after an
include, or at the whole history. The same argument makes the p-value fall with every further
exclude, so "how many more" (``more_to_screen``: the fewest further decisions that, all
excludes, would let the test pass) is found by bisection and is exact for that assumption; any
include among them raises it.

What the test assumes, and where that fails: that the recent decisions are a random sample of
the window plus what is left. Under prioritised screening they are not: the ranking puts the
likely includes first, so the records left are *poorer* in includes than the recent window,
and the test errs on the side of screening more. It is conservative except in the worst case,
includes that no ranking puts near the top (worded unlike every other); ``bench/stopping.py``
measures on the shared reviews how often recall reached the target when it said stop.

The two rules it is compared with
---------------------------------
- ``consecutive_excludes_rule``: stop after ``n`` excludes in a row (the usual heuristic).
- ``estimate_rule``: stop when the recall estimated by ``classifier.estimate`` (found / (found +
  expected remaining), or with the upper end of its interval) reaches the target.
Neither makes a statement with a confidence level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from classifier.estimate import _check_labels, estimate_remaining

__all__ = [
    "METHOD",
    "StoppingVerdict",
    "buscar_p_value",
    "consecutive_excludes",
    "consecutive_excludes_rule",
    "estimate_rule",
    "hypergeom_cdf",
    "stopping_test",
]

METHOD = "BUSCAR hypergeometric test (Callaghan & Müller-Hansen 2020), smallest p over windows"

_ROWS_PER_BLOCK = 256
_CANDIDATES_PER_STEP = 32


@dataclass(frozen=True)
class StoppingVerdict:
    """Whether screening may stop with recall >= ``recall_target`` at confidence ``level``.

    ``p_value`` is the test's p-value for H0 "recall < target" (``confidence = 1 − p_value``);
    ``more_to_screen`` is, when not yet, the fewest further decisions that, all excludes, would
    let the test pass (0 when it passes; ``None`` when no include has been found, since the
    test then has no recall to speak of)."""

    may_stop: bool
    p_value: float
    recall_target: float
    level: float
    found: int
    screened: int
    unscreened: int
    more_to_screen: int | None
    method: str = METHOD

    @property
    def confidence(self) -> float:
        return 1.0 - self.p_value


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, not {value}")
    return int(value)


def _check_fraction(name: str, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, not {value}")
    return float(value)


def _log_factorials(n: int) -> np.ndarray:
    """log(0!), ..., log(n!)."""
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))])


def _log_choose(n: np.ndarray, k: np.ndarray, log_factorial: np.ndarray) -> np.ndarray:
    """log C(n, k), ``-inf`` where ``k`` lies outside ``[0, n]``."""
    valid = (k >= 0) & (k <= n)
    n_safe, k_safe = np.where(valid, n, 0), np.where(valid, k, 0)
    out = log_factorial[n_safe] - log_factorial[k_safe] - log_factorial[n_safe - k_safe]
    return np.where(valid, out, -np.inf)


def _log_pmf(k, population, relevant, draws, log_factorial: np.ndarray) -> np.ndarray:
    """log P(X = k) for X ~ Hypergeometric(population, relevant, draws), elementwise."""
    return (
        _log_choose(relevant, k, log_factorial)
        + _log_choose(population - relevant, draws - k, log_factorial)
        - _log_choose(population, draws, log_factorial)
    )


def _as_arrays(*values) -> list[np.ndarray]:
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.int64) for v in values))
    return [a.ravel() for a in arrays]


def _cdf(k, population, relevant, draws, log_factorial: np.ndarray) -> np.ndarray:
    """P(X <= k) by summing P(X = 0..k), rows in blocks."""
    result = np.empty(len(k))
    for start in range(0, len(k), _ROWS_PER_BLOCK):
        rows = slice(start, start + _ROWS_PER_BLOCK)
        i = np.arange(max(int(k[rows].max()), 0) + 1)[None, :]
        M, K, n = population[rows, None], relevant[rows, None], draws[rows, None]
        log_pmf = _log_pmf(i, M, K, n, log_factorial)
        log_pmf = np.where(i <= k[rows, None], log_pmf, -np.inf)
        result[rows] = np.exp(log_pmf).sum(axis=1)
    return np.clip(result, 0.0, 1.0)


def hypergeom_cdf(k, population, relevant, draws) -> np.ndarray:
    """P(X <= k) for X ~ Hypergeometric(``population``, ``relevant``, ``draws``), elementwise
    over broadcast integer arrays (``scipy.stats.hypergeom.cdf(k, population, relevant, draws)``
    computed in log space by summing the probabilities 0..k, which is exact and fast for the
    small ``k`` the test needs)."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in (k, population, relevant, draws)))
    k, population, relevant, draws = _as_arrays(k, population, relevant, draws)
    if ((relevant < 0) | (relevant > population) | (draws < 0) | (draws > population)).any():
        raise ValueError("need 0 <= relevant <= population and 0 <= draws <= population")
    log_factorial = _log_factorials(int(population.max(initial=0)))
    return _cdf(k, population, relevant, draws, log_factorial).reshape(shape)


def _smallest_cdf(k, population, relevant, draws, below: float | None = None) -> float:
    """The smallest of the hypergeometric CDFs, computing only those that can be smallest:
    each CDF is at least its last term P(X = k), so they are taken in order of that bound and
    the search ends once the bound reaches the smallest CDF found. With ``below``, only
    whether one lies below it matters: the search ends at the first that does (its value is
    returned; any value >= ``below`` means none does)."""
    log_factorial = _log_factorials(int(population.max(initial=0)))
    bound = np.exp(_log_pmf(k, population, relevant, draws, log_factorial))
    order = np.argsort(bound, kind="stable")
    smallest = 1.0
    for start in range(0, len(order), _CANDIDATES_PER_STEP):
        chosen = order[start : start + _CANDIDATES_PER_STEP]
        if bound[chosen[0]] >= (smallest if below is None else min(smallest, below)):
            break
        cdf = _cdf(k[chosen], population[chosen], relevant[chosen], draws[chosen], log_factorial)
        smallest = min(smallest, float(cdf.min()))
        if below is not None and smallest < below:
            break
    return smallest


def _relevant_needed(found: int, recall_target: float) -> int:
    """The fewest relevant records in the corpus for which ``found`` is a recall below the
    target: the smallest integer above ``found / recall_target``."""
    # rounded first so that 19 / 0.95 does not become 20.000000000000004
    return math.floor(round(found / recall_target, 9)) + 1


def _windows(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The windows where the smallest p can lie (see the module docstring): ``(k, j)``, the
    includes in and the length of each window reaching back to just after an include, and of
    the whole history."""
    n = len(labels)
    includes = np.flatnonzero(labels)[::-1]  # most recent first
    k = np.arange(len(includes) + 1)
    j = np.append(n - 1 - includes, n)
    return k, j


def _p_value(
    labels: np.ndarray,
    n_unscreened: int,
    recall_target: float,
    extra: int,
    below: float | None = None,
) -> float:
    """The test's p-value after ``extra`` further excludes (with ``below``: exact only when
    under it, see ``_smallest_cdf``)."""
    found = int(labels.sum())
    missing = _relevant_needed(found, recall_target) - found  # at least this many unscreened
    unscreened = n_unscreened - extra
    if missing > unscreened:
        return 0.0
    if len(labels) + extra == 0:
        return 1.0
    k, j = _windows(labels)
    j = j + extra
    keep = j > 0
    if not keep.any():
        return 1.0
    k, j = k[keep], j[keep]
    return _smallest_cdf(k, unscreened + j, missing + k, j, below)


def buscar_p_value(
    labels_in_order: Sequence[int] | np.ndarray, n_unscreened: int, recall_target: float = 0.95
) -> float:
    """The p-value for H0 "recall < ``recall_target``" after the 0/1 decisions
    ``labels_in_order`` (in the order made) with ``n_unscreened`` records left: the smallest
    hypergeometric p over every window ending at the last decision."""
    labels = _check_labels(labels_in_order)
    n_unscreened = _check_count("n_unscreened", n_unscreened)
    recall_target = _check_fraction("recall_target", recall_target)
    return _p_value(labels, n_unscreened, recall_target, 0)


def stopping_test(
    labels_in_order: Sequence[int] | np.ndarray,
    n_unscreened: int,
    *,
    recall_target: float = 0.95,
    level: float = 0.95,
) -> StoppingVerdict:
    """May screening stop with recall >= ``recall_target`` at confidence ``level``?

    ``labels_in_order`` are the 0/1 decisions in the order they were made while screening from
    the ranked queue (priors first), ``n_unscreened`` the records not yet decided. Never says
    "may stop" before the first include while records are left (recall has no meaning then).
    Raises ``ValueError`` naming the bad argument."""
    labels = _check_labels(labels_in_order)
    n_unscreened = _check_count("n_unscreened", n_unscreened)
    recall_target = _check_fraction("recall_target", recall_target)
    level = _check_fraction("level", level)
    alpha = 1.0 - level
    found = int(labels.sum())
    p = _p_value(labels, n_unscreened, recall_target, 0)
    may_stop = n_unscreened == 0 or (found > 0 and p < alpha)
    if may_stop:
        more: int | None = 0
    elif found == 0:
        more = None
    else:
        # p falls with every further exclude and is 0 once the rest is screened: bisect
        low, high = 0, n_unscreened
        while high - low > 1:
            middle = (low + high) // 2
            if _p_value(labels, n_unscreened, recall_target, middle, alpha) < alpha:
                high = middle
            else:
                low = middle
        more = high
    return StoppingVerdict(
        may_stop=may_stop,
        p_value=p,
        recall_target=recall_target,
        level=level,
        found=found,
        screened=len(labels),
        unscreened=n_unscreened,
        more_to_screen=more,
    )


def consecutive_excludes(labels_in_order: Sequence[int] | np.ndarray) -> int:
    """How many excludes in a row end the decisions so far."""
    labels = _check_labels(labels_in_order)
    includes = np.flatnonzero(labels)
    return len(labels) - 1 - int(includes[-1]) if len(includes) else len(labels)


def consecutive_excludes_rule(
    labels_in_order: Sequence[int] | np.ndarray, n_unscreened: int, n_excludes: int
) -> bool:
    """The heuristic: stop after ``n_excludes`` excludes in a row, once one include is found
    (or when nothing is left)."""
    labels = _check_labels(labels_in_order)
    n_unscreened = _check_count("n_unscreened", n_unscreened)
    if _check_count("n_excludes", n_excludes) == 0:
        raise ValueError("n_excludes must be >= 1")
    if n_unscreened == 0:
        return True
    return bool(labels.sum()) and consecutive_excludes(labels) >= n_excludes


def estimate_rule(
    labels_in_order: Sequence[int] | np.ndarray,
    n_unscreened: int,
    recall_target: float = 0.95,
    *,
    bound: Literal["expected", "upper"] = "expected",
) -> bool:
    """Stop when the estimated recall, found / (found + remaining) from
    ``classifier.estimate.estimate_remaining``, reaches ``recall_target``; the remaining
    relevant records are the estimate's expected number, or with ``bound="upper"`` the upper
    end of its 90 % interval (the posterior's 95th percentile)."""
    labels = _check_labels(labels_in_order)
    n_unscreened = _check_count("n_unscreened", n_unscreened)
    recall_target = _check_fraction("recall_target", recall_target)
    if bound not in ("expected", "upper"):
        raise ValueError(f"bound must be 'expected' or 'upper', not {bound!r}")
    if n_unscreened == 0:
        return True
    found = int(labels.sum())
    if found == 0:
        return False
    estimate = estimate_remaining(labels, n_unscreened, level=0.9)
    remaining = estimate.expected if bound == "expected" else estimate.high
    return found / (found + remaining) >= recall_target
