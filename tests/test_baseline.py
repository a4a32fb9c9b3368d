import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from classifier.artifacts import load_artifact, save_artifact
from classifier.baseline import EmbeddingLogistic, ThemeBaseline
from index import read_records
from tests.conftest import DATA
from tests.fakes import HashingEncoder


@pytest.fixture(scope="module")
def adhd():
    records = [r for r in read_records(DATA / "screening" / "Cohen_2006_ADHD.csv") if r.has_text]
    X = HashingEncoder().encode_documents([r.text for r in records])
    y = np.array([r.label for r in records])
    return X, y


def test_relevance_follows_the_sklearn_contract(adhd):
    X, y = adhd
    model = EmbeddingLogistic()
    with pytest.raises(NotFittedError):
        model.predict_proba(X)
    assert model.fit(X[:400], y[:400]) is model
    assert model.n_features_in_ == X.shape[1] and model.class_counts_.sum() == 400
    proba = model.predict_proba(X[400:])
    assert proba.shape == (len(X) - 400, 2) and np.allclose(proba.sum(axis=1), 1)
    # Ranking the held-out records by the model finds includes far above chance.
    order = np.argsort(-proba[:, 1])
    held_out = y[400:]
    top = held_out[order[: len(order) // 5]].sum()
    assert top >= 0.5 * held_out.sum()


def test_relevance_needs_both_classes(adhd):
    X, y = adhd
    with pytest.raises(ValueError, match="both classes"):
        EmbeddingLogistic().fit(X[y == 0][:20], y[y == 0][:20])


def test_calibration_undoes_the_balancing(adhd):
    X, y = adhd
    model = EmbeddingLogistic().fit(X, y)
    balanced = model.predict_proba(X)[:, 1]
    calibrated = model.calibrated_proba(X)
    # Includes are rare here: undoing the balancing lowers every probability, and over the
    # training records the calibrated probabilities add up to the number of includes.
    assert np.all(calibrated <= balanced)
    assert calibrated.sum() == pytest.approx(y.sum(), rel=1e-3)
    assert np.array_equal(np.argsort(calibrated), np.argsort(balanced))


def test_models_round_trip_through_artifacts(adhd, tmp_path):
    X, y = adhd
    model = EmbeddingLogistic().fit(X, y)
    save_artifact(tmp_path, "relevance", model.to_arrays(), {"suite": "test"})
    arrays, meta = load_artifact(tmp_path, "relevance")
    assert meta["suite"] == "test"
    loaded = EmbeddingLogistic.from_arrays(arrays)
    assert np.allclose(loaded.predict_proba(X), model.predict_proba(X))
    themes = ThemeBaseline().fit(X[:0], np.zeros((0, 2)), X[:2])
    again = ThemeBaseline.from_arrays(themes.to_arrays())
    assert again.mode_ == "zero-shot" and np.allclose(
        again.predict_proba(X), themes.predict_proba(X)
    )


def test_themes_zero_shot_then_supervised():
    encoder = HashingEncoder()
    theme_vectors = np.stack(
        [encoder.encode_query("stimulant methylphenidate"), encoder.encode_query("opioid pain")]
    )
    texts = [
        "methylphenidate stimulant trial in children",
        "stimulant methylphenidate dosing",
        "opioid pain relief after surgery",
        "opioid morphine pain",
    ]
    X = encoder.encode_documents(texts)
    zero = ThemeBaseline().fit(X[:0], np.zeros((0, 2)), theme_vectors)
    assert zero.mode_ == "zero-shot"
    assert zero.predict(X).argmax(axis=1).tolist() == [0, 0, 1, 1]
    assert np.allclose(zero.predict_proba(X).sum(axis=1), 1)
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    supervised = ThemeBaseline().fit(X, Y, theme_vectors)
    assert supervised.mode_ == "supervised"
    assert supervised.predict(X).astype(int).tolist() == Y.tolist()
    # A theme without a positive example sends every theme back to zero-shot.
    assert ThemeBaseline().fit(X, np.array([[1, 0]] * 4), theme_vectors).mode_ == "zero-shot"
