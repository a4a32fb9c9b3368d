"""Screening metrics on sequences small enough to compute by hand, and the ranked queue."""

import numpy as np
import pytest

from classifier.metrics import recall_curve, screening_metrics, wss
from classifier.ranking import question_scores, rank

# M = 10 records after the priors, R = 2 relevant, at positions 1 and 4.
SEQUENCE = [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]


def test_rrf10_counts_relevant_records_in_the_first_tenth():
    # floor(0.1 * 10) = 1 record screened; it holds 1 of the 2 relevant ones.
    assert screening_metrics(SEQUENCE)["rrf10"] == pytest.approx(50.0)
    # floor(0.1 * 19) = 1 as well: the floor, not rounding.
    assert screening_metrics([0, 1] + [0] * 16 + [1])["rrf10"] == 0.0


def test_wss_uses_the_position_where_ceil_r_times_R_relevant_are_found():
    # WSS@95: ceil(0.95 * 2) = 2 relevant found at position 4: (10 - 4)/10 - 0.05 = 0.55.
    assert screening_metrics(SEQUENCE)["wss95"] == pytest.approx(55.0)
    # WSS@100: the same position: (10 - 4)/10 - 0 = 0.6.
    assert screening_metrics(SEQUENCE)["wss100"] == pytest.approx(60.0)
    # 20 relevant: ceil(0.95 * 20) = 19 (not 20, despite 0.95 * 20 > 19 in floating point).
    labels = [1] * 19 + [0] * 80 + [1]
    assert wss(labels, 0.95) == pytest.approx(100 * ((100 - 19) / 100 - 0.05))


def test_loss_is_zero_for_perfect_one_for_worst_and_hand_computed_between():
    assert screening_metrics([1, 1, 0, 0, 0])["loss"] == 0.0
    assert screening_metrics([0, 0, 0, 1, 1])["loss"] == pytest.approx(1.0)
    # cumsum = 1,1,1,2,2,2,2,2,2,2 -> 17; R(M - (R-1)/2) = 2 * 9.5 = 19; R(M - R) = 16.
    assert screening_metrics(SEQUENCE)["loss"] == pytest.approx((19 - 17) / 16)
    assert screening_metrics([1, 1])["loss"] == 0.0


def test_atd_is_the_mean_position_of_the_relevant_records_over_M():
    # Positions 1 and 4 of 10: (1 + 4) / 2 / 10.
    assert screening_metrics(SEQUENCE)["atd"] == pytest.approx(0.25)


def test_recall_curve_and_guards():
    assert np.allclose(recall_curve([0, 1, 0, 1]), [0, 0.5, 0.5, 1])
    with pytest.raises(ValueError, match="no relevant"):
        screening_metrics([0, 0, 0])
    with pytest.raises(ValueError, match="only 0 and 1"):
        screening_metrics([0, 2])


def test_rank_is_stable_and_drops_screened_ids():
    ids = np.array([10, 11, 12, 13, 14])
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.9])
    assert list(rank(scores, ids)) == [11, 14, 10, 12, 13]
    assert list(rank(scores, ids, screened=[14, 10, 99])) == [11, 12, 13]
    assert list(rank(scores, ids, screened=iter([]))) == [11, 14, 10, 12, 13]
    with pytest.raises(ValueError, match="ids has"):
        rank(scores, ids[:3])


def test_question_scores_are_cosines():
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    assert np.allclose(question_scores(vectors, np.array([3.0, 0.0])), [1, 0, np.sqrt(0.5)])
    with pytest.raises(ValueError, match="dimensions"):
        question_scores(vectors, np.ones(3))
