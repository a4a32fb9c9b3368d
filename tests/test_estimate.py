"""classifier.estimate: the remaining-relevant estimate on hand-made sequences and real labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.estimate import (
    METHOD,
    METHOD_WITH_PROBABILITIES,
    RemainingEstimate,
    estimate_remaining,
)
from index.datasets import read_labeled

SCREENING = Path(__file__).parent / "data" / "screening"


def every(step: int, length: int) -> list[int]:
    """A flat hit rate of 1/step, laid out evenly."""
    return [1 if i % step == 0 else 0 for i in range(length)]


def test_no_includes_yet_gives_a_wide_interval_from_zero() -> None:
    estimate = estimate_remaining([0] * 200, 1000)
    assert estimate.found == 0
    assert estimate.low == 0
    assert 0 < estimate.expected < estimate.high
    # 200 excludes in a row bound the rate well below 1 in 20
    assert estimate.high < 1000 / 20


def test_all_found_after_a_long_run_of_excludes() -> None:
    estimate = estimate_remaining([1] * 30 + [0] * 400, 300)
    assert estimate.found == 30
    assert estimate.low == 0
    assert estimate.expected < 1.5
    assert estimate.high <= 5


def test_flat_rate_gives_about_rate_times_unscreened() -> None:
    estimate = estimate_remaining(every(10, 1000), 500)
    # the posterior is skewed upwards: many left and a ranking worse than random fit too
    assert 0.8 * 50 <= estimate.expected <= 1.3 * 50
    assert estimate.low < 50 < estimate.high


def test_steep_decay_leaves_little_where_a_flat_rate_leaves_much() -> None:
    # includes at positions 0, 1, 3, 7, 15, ...: the gaps double, the rate halves each time
    steep = np.zeros(1024, dtype=int)
    steep[2 ** np.arange(10) - 1] = 1
    decayed = estimate_remaining(steep, 2000)
    flat = estimate_remaining(every(100, 1024), 2000)
    assert decayed.expected < 3
    assert decayed.expected < flat.expected / 4


def test_interval_contains_expected_and_level_is_kept() -> None:
    for labels, unscreened in [
        ([0] * 50, 100),
        (every(4, 300), 900),
        ([1] * 5 + [0] * 95, 10_000),
        ([1, 0], 5),
    ]:
        estimate = estimate_remaining(labels, unscreened, level=0.8)
        assert isinstance(estimate, RemainingEstimate)
        assert estimate.level == 0.8
        assert estimate.method == METHOD
        assert 0 <= estimate.low <= estimate.expected <= estimate.high <= unscreened


def test_higher_level_gives_a_wider_interval() -> None:
    labels = every(8, 400)
    narrow = estimate_remaining(labels, 800, level=0.5)
    wide = estimate_remaining(labels, 800, level=0.99)
    assert wide.low <= narrow.low and narrow.high <= wide.high
    assert (wide.high - wide.low) > (narrow.high - narrow.low)
    assert narrow.expected == pytest.approx(wide.expected)


def test_nothing_unscreened_leaves_nothing() -> None:
    estimate = estimate_remaining([1, 0, 1], 0)
    assert (estimate.expected, estimate.low, estimate.high, estimate.found) == (0, 0, 0, 2)


def test_interval_covers_draws_from_its_own_model() -> None:
    # honesty where the model holds: decaying Bernoulli sequences, truth drawn from the same curve
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(30):
        rates = 0.3 * np.exp(-np.arange(600) / rng.uniform(60, 400))
        draws = rng.random(600) < rates
        estimate = estimate_remaining(draws[:300].astype(int), 300, level=0.9)
        covered += estimate.low <= draws[300:].sum() <= estimate.high
    assert covered >= 24


def test_random_order_screening_of_the_real_reviews_is_covered() -> None:
    # screening in random order keeps the hit rate flat: half of each review predicts the other
    # half; a single run can look like a falling rate by chance, so coverage is judged overall
    covered, errors, truths = [], [], []
    for path in sorted(SCREENING.glob("*.csv")):
        labels = read_labeled(path).labels.astype(int)
        for seed in range(2):
            order = np.random.default_rng(seed).permutation(len(labels))
            half = len(labels) // 2
            truth = int(labels[order[half:]].sum())
            estimate = estimate_remaining(labels[order[:half]], len(labels) - half)
            covered.append(estimate.low <= truth <= estimate.high)
            errors.append(estimate.expected - truth)
            truths.append(truth)
    assert len(covered) == 28
    assert np.mean(covered) >= 0.85
    assert abs(np.mean(errors)) < 0.25 * np.mean(truths)


def test_probabilities_inform_the_prior() -> None:
    labels = every(10, 400)
    alone = estimate_remaining(labels, 300)
    none_left = estimate_remaining(labels, 300, probabilities=np.zeros(300))
    assert alone.method == METHOD
    assert none_left.method == METHOD_WITH_PROBABILITIES
    assert none_left.expected < alone.expected
    assert none_left.low == 0
    agreeing = estimate_remaining(labels, 300, probabilities=np.full(300, 0.1))
    assert agreeing.low <= 30 <= agreeing.high
    assert agreeing.high - agreeing.low < alone.high - alone.low


@pytest.mark.parametrize(
    ("args", "kwargs", "argument"),
    [
        (([0, 2, 1], 10), {}, "labels_in_order"),
        (([[0, 1]], 10), {}, "labels_in_order"),
        (([], 10), {}, "labels_in_order"),
        (([0, 1], -1), {}, "n_unscreened"),
        (([0, 1], 2.5), {}, "n_unscreened"),
        (([0, 1], 10), {"level": 1.0}, "level"),
        (([0, 1], 10), {"level": 0.0}, "level"),
        (([0, 1], 10), {"probabilities": np.ones(9)}, "probabilities"),
        (([0, 1], 2), {"probabilities": np.array([0.5, 1.5])}, "probabilities"),
        (([0, 1], 2), {"probabilities": np.array([0.5, np.nan])}, "probabilities"),
    ],
)
def test_bad_input_names_the_argument(args, kwargs, argument) -> None:
    with pytest.raises(ValueError, match=argument):
        estimate_remaining(*args, **kwargs)
