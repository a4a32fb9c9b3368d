"""classifier.stopping: BUSCAR's test on hand-computed cases (checked against
scipy.stats.hypergeom), the baselines, a replay of a real review, and the progress report."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from scipy.stats import hypergeom

from classifier.features import CorpusFeatures
from classifier.simulate import simulate
from classifier.stopping import (
    METHOD,
    StoppingVerdict,
    buscar_p_value,
    consecutive_excludes,
    consecutive_excludes_rule,
    estimate_rule,
    hypergeom_cdf,
    stopping_test,
)
from tests.test_api import ADHD, create, decide, records_by_source, upload
from tests.test_relevance import labelled


def every_window(labels, n_unscreened: int, recall_target: float) -> float:
    """The paper's test spelled out with scipy: every window ending at the last decision."""
    labels = np.asarray(labels)
    found, n = int(labels.sum()), len(labels)
    needed = int(np.floor(round(found / recall_target, 9))) + 1
    if needed - found > n_unscreened:
        return 0.0
    p = [
        hypergeom.cdf(
            labels[n - j :].sum(), n_unscreened + j, needed - found + labels[n - j :].sum(), j
        )
        for j in range(1, n + 1)
    ]
    return float(min(p))


# -- the hypergeometric test ----------------------------------------------------------------


def test_hypergeom_cdf_matches_scipy() -> None:
    k = np.array([0, 1, 2, 5, 7, 0, 3, 10])
    M = np.array([10, 50, 100, 200, 1000, 5, 30, 40])
    K = np.array([3, 5, 20, 21, 8, 5, 30, 12])
    n = np.array([4, 20, 30, 119, 900, 2, 3, 35])
    assert np.allclose(hypergeom_cdf(k, M, K, n), hypergeom.cdf(k, M, K, n), rtol=1e-10)
    with pytest.raises(ValueError, match="relevant <= population"):
        hypergeom_cdf(1, 10, 11, 2)


def test_hand_computed_case() -> None:
    # 19 includes, then 100 excludes, 100 records left, target 95 %: recall < 95 % means at
    # least 21 relevant (19/20 is 95 %), so at least 2 among the 100 left. The window of the
    # 100 excludes: no include in 100 draws from 200 holding 2, (100/200)(99/199).
    labels = [1] * 19 + [0] * 100
    trailing = hypergeom.cdf(0, 200, 2, 100)
    assert trailing == pytest.approx(100 / 200 * 99 / 199)
    whole = hypergeom.cdf(19, 219, 21, 119)
    assert buscar_p_value(labels, 100) == pytest.approx(min(trailing, whole), rel=1e-9)
    assert buscar_p_value(labels, 100) == pytest.approx(every_window(labels, 100, 0.95))
    verdict = stopping_test(labels, 100)
    assert not verdict.may_stop and verdict.found == 19 and verdict.screened == 119
    assert verdict.confidence == pytest.approx(1 - verdict.p_value)
    assert verdict.method == METHOD


def test_the_smallest_windows_are_the_papers_smallest_p() -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(1, 150))
        decay = np.linspace(1, 0, n) ** 2
        labels = (rng.random(n) < rng.uniform(0.05, 0.6) * decay).astype(int)
        left = int(rng.integers(0, 300))
        target = float(rng.choice([0.8, 0.9, 0.95, 0.99]))
        expected = every_window(labels, left, target)
        assert buscar_p_value(labels, left, target) == pytest.approx(expected, abs=1e-10)


def test_impossible_null_and_nothing_left() -> None:
    # 19 found, 1 left: 21 relevant would need 2 left, so recall >= 95 % for sure
    assert buscar_p_value([1] * 19 + [0] * 5, 1) == 0.0
    verdict = stopping_test([1, 0, 0], 0)
    assert verdict.may_stop and verdict.more_to_screen == 0 and verdict.unscreened == 0


def test_never_may_stop_before_an_include() -> None:
    verdict = stopping_test([0] * 2000, 10)
    assert not verdict.may_stop and verdict.more_to_screen is None
    assert stopping_test([], 10).p_value == 1.0


def test_more_to_screen_is_the_fewest_excludes_that_pass() -> None:
    labels = [1] * 40 + [0] * 200
    verdict = stopping_test(labels, 1500)
    assert not verdict.may_stop
    more = verdict.more_to_screen
    assert 0 < more <= 1500
    passed = stopping_test(labels + [0] * more, 1500 - more)
    assert passed.may_stop and passed.p_value < 0.05
    assert not stopping_test(labels + [0] * (more - 1), 1500 - more + 1).may_stop


def test_p_falls_with_every_exclude_and_the_level_matters() -> None:
    labels = [1] * 30 + [0, 1] * 10 + [0] * 50
    values = [buscar_p_value(labels + [0] * m, 800 - m) for m in range(0, 800, 40)]
    assert all(a >= b for a, b in itertools.pairwise(values))
    strict = stopping_test(labels + [0] * 500, 300, level=0.99)
    loose = stopping_test(labels + [0] * 500, 300, level=0.5)
    assert strict.p_value == loose.p_value
    assert loose.may_stop and not strict.may_stop
    assert strict.more_to_screen > loose.more_to_screen == 0


def test_lower_target_stops_sooner() -> None:
    labels = [1] * 50 + [0] * 300
    assert buscar_p_value(labels, 2000, 0.8) < buscar_p_value(labels, 2000, 0.95)


@pytest.mark.parametrize(
    ("labels", "left", "kwargs", "message"),
    [
        ([0, 2], 5, {}, "only 0"),
        ([[0, 1]], 5, {}, "1-d"),
        ([0, 1], -1, {}, "n_unscreened must be >= 0"),
        ([0, 1], 2.5, {}, "n_unscreened must be an integer"),
        ([0, 1], 5, {"recall_target": 1.0}, "recall_target"),
        ([0, 1], 5, {"level": 0.0}, "level"),
    ],
)
def test_bad_arguments_are_named(labels, left, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        stopping_test(labels, left, **kwargs)


# -- the baselines ------------------------------------------------------------------------


def test_consecutive_excludes_rule() -> None:
    assert consecutive_excludes([1, 0, 0]) == 2
    assert consecutive_excludes([0, 1]) == 0
    assert consecutive_excludes([0, 0, 0]) == 3
    assert consecutive_excludes_rule([1] + [0] * 50, 100, 50)
    assert not consecutive_excludes_rule([1] + [0] * 49, 100, 50)
    assert not consecutive_excludes_rule([0] * 500, 100, 50)  # nothing found yet
    assert consecutive_excludes_rule([0] * 5, 0, 50)  # nothing left
    with pytest.raises(ValueError, match="n_excludes"):
        consecutive_excludes_rule([1], 5, 0)


def test_estimate_rule() -> None:
    assert estimate_rule([1] * 30 + [0] * 400, 300)
    flat = [1 if i % 10 == 0 else 0 for i in range(1000)]
    assert not estimate_rule(flat, 500)
    assert not estimate_rule([0] * 100, 500)
    assert estimate_rule([0, 1], 0)
    # the upper end of the interval asks for more: 30 found and up to 4 left is recall 0.88
    assert not estimate_rule([1] * 30 + [0] * 400, 300, bound="upper")
    assert estimate_rule([1] * 30 + [0] * 1000, 100, bound="upper")
    with pytest.raises(ValueError, match="bound"):
        estimate_rule([1, 0], 5, bound="mean")


# -- a real review, replayed ---------------------------------------------------------------


@pytest.fixture(scope="module")
def replayed():
    texts, labels, vectors = labelled("Cohen_2006_Antihistamines")
    run = simulate(CorpusFeatures.build(texts, vectors), labels, seed=0, retrain="fast")
    return labels[np.asarray(run.order)]


def test_verdicts_along_a_real_replay_are_consistent(replayed) -> None:
    n, total = len(replayed), int(replayed.sum())
    first_include = int(np.argmax(replayed)) + 1
    verdicts: list[StoppingVerdict] = []
    for screened in range(1, n + 1):
        verdicts.append(stopping_test(replayed[:screened], n - screened))
    for screened, verdict in enumerate(verdicts, 1):
        assert verdict.screened + verdict.unscreened == n
        assert verdict.found == replayed[:screened].sum()
        assert 0.0 <= verdict.p_value <= 1.0
        if screened < first_include:
            assert not verdict.may_stop and verdict.more_to_screen is None
        if not verdict.may_stop and verdict.more_to_screen is not None:
            assert 0 < verdict.more_to_screen <= verdict.unscreened
        # an exclude never raises the p-value
        if screened < n and replayed[screened] == 0:
            assert verdicts[screened].p_value <= verdict.p_value + 1e-12
    stops = [v for v in verdicts if v.may_stop]
    assert stops and stops[-1].unscreened == 0
    first = stops[0]
    # on this review the guarantee held: recall reached the target where the test said stop
    assert first.found / total >= 0.95
    # and "about N more" was exact: one step before, after an exclude, it asked for one more
    if replayed[first.screened - 1] == 0:
        assert verdicts[first.screened - 2].more_to_screen == 1
    # once it may stop, further excludes keep it so
    for verdict, label in zip(verdicts[first.screened :], replayed[first.screened :], strict=True):
        if label == 0 and verdict.found == first.found:
            assert verdict.may_stop


# -- the progress report -------------------------------------------------------------------


def test_progress_carries_the_stopping_verdict(client) -> None:
    create(client)
    assert upload(client, "adhd", ADHD, ignore_labels="true").status_code == 202
    progress = client.get("/api/projects/adhd/progress").get_json()
    stopping = progress["stopping"]
    assert stopping["may_stop"] is False and stopping["more_to_screen"] is None
    assert stopping["recall_target"] == 0.95 and stopping["level"] == 0.95
    assert stopping["method"] == METHOD and stopping["unscreened"] == 851

    records = list(records_by_source(client, "adhd").values())
    decide(client, "adhd", records[0]["record_id"], "include")
    for record in records[1:31]:
        decide(client, "adhd", record["record_id"], "exclude")
    stopping = client.get("/api/projects/adhd/progress").get_json()["stopping"]
    assert stopping["found"] == 1 and stopping["screened"] == 31
    assert stopping["unscreened"] == 851 - 31
    assert stopping["may_stop"] is False and 0 < stopping["more_to_screen"] <= 820
    assert stopping["confidence"] == pytest.approx(1 - stopping["p_value"])
    assert stopping == {
        "method": METHOD,
        "may_stop": False,
        "p_value": stopping["p_value"],
        "confidence": stopping["confidence"],
        "recall_target": 0.95,
        "level": 0.95,
        "found": 1,
        "screened": 31,
        "unscreened": 820,
        "more_to_screen": stopping_test([1] + [0] * 30, 820).more_to_screen,
    }


def test_the_recall_target_and_level_are_project_settings(client) -> None:
    """A maintainer sets the stopping test's target and confidence; other settings stay, and
    values outside (0, 1) are refused naming the field."""
    create(client)
    reasons = {"title_abstract": ["wrong population"]}
    assert (
        client.patch("/api/projects/adhd", json={"exclusion_reasons": reasons}).status_code == 200
    )
    changed = client.patch(
        "/api/projects/adhd", json={"stopping": {"recall_target": 0.9, "level": 0.8}}
    )
    assert changed.status_code == 200
    settings = changed.get_json()["settings"]
    assert settings["stopping"] == {"recall_target": 0.9, "level": 0.8}
    assert settings["exclusion_reasons"] == reasons
    stopping = client.get("/api/projects/adhd/progress").get_json()["stopping"]
    assert stopping["recall_target"] == 0.9 and stopping["level"] == 0.8
    bad = client.patch("/api/projects/adhd", json={"stopping": {"recall_target": 1.5}})
    assert bad.status_code == 400 and "recall_target" in json.dumps(bad.get_json())
