import numpy as np
import pytest

from index.vectors import VectorIndex


def normalised(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_matches_numpy_brute_force():
    x = normalised(500, 32)
    ids = np.arange(1000, 1500)
    index = VectorIndex.build(ids, x, "m")
    for q in normalised(5, 32, seed=1):
        got_ids, got_scores = index.search(q, 10)
        scores = x @ q
        order = np.argsort(-scores)[:10]
        np.testing.assert_array_equal(got_ids, ids[order])
        np.testing.assert_allclose(got_scores, scores[order], rtol=1e-5)


def test_allowed_ids_restrict_the_search():
    x = normalised(200, 16)
    ids = np.arange(200) * 3
    index = VectorIndex.build(ids, x)
    allowed = ids[::7]
    got, _ = index.search(x[5], 5, allowed=allowed)
    mask = np.isin(ids, allowed)
    expected = ids[mask][np.argsort(-(x[mask] @ x[5]))[:5]]
    np.testing.assert_array_equal(got, expected)
    assert len(index.search(x[0], 5, allowed=np.array([], dtype=np.int64))[0]) == 0


def test_save_load_and_staleness(tmp_path):
    x = normalised(50, 8)
    ids = np.arange(50)
    path = tmp_path / "i.faiss"
    VectorIndex.build(ids, x, "m").save(path)
    loaded = VectorIndex.load(path, model_id="m", ids=ids)
    assert loaded is not None and len(loaded) == 50
    np.testing.assert_array_equal(loaded.search(x[3], 1)[0], [3])
    assert VectorIndex.load(path, model_id="other", ids=ids) is None
    assert VectorIndex.load(path, model_id="m", ids=ids[:-1]) is None
    assert VectorIndex.load(tmp_path / "missing.faiss", model_id="m", ids=ids) is None


def test_guard_clauses():
    index = VectorIndex.build(np.arange(3), normalised(3, 4))
    with pytest.raises(ValueError, match="k"):
        index.search(normalised(1, 4)[0], 0)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.ones(5, dtype=np.float32), 1)
    with pytest.raises(ValueError, match="shape"):
        index.add(np.arange(2), normalised(2, 5))
    with pytest.raises(ValueError, match="dimension"):
        VectorIndex(0)
