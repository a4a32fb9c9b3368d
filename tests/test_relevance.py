"""The relevance model on a real labelled dataset, with a fixed random projection of TF-IDF
standing in for the embeddings (no model loading in tests)."""

import csv

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.random_projection import GaussianRandomProjection

from classifier.artifacts import load_artifact, save_artifact
from classifier.features import CorpusFeatures
from classifier.relevance import DEFAULT_SETTING, SETTINGS, RelevanceModel
from tests.conftest import DATA


def labelled(name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, labels and 64-d stand-in vectors of a screening dataset, in file order."""
    with open(DATA / "screening" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    texts = [f"{row['title']} {row['abstract']}".strip() for row in rows]
    labels = np.array([int(row["label_included"]) for row in rows])
    tfidf = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    vectors = GaussianRandomProjection(64, random_state=0).fit_transform(tfidf)
    return texts, labels, vectors.astype(np.float32)


@pytest.fixture(scope="module")
def adhd():
    texts, labels, vectors = labelled("Cohen_2006_ADHD")
    return CorpusFeatures.build(texts, vectors), labels, texts, vectors


def test_features_are_row_aligned_and_round_trip(adhd, tmp_path):
    features, labels, texts, vectors = adhd
    assert len(features) == len(labels) == features.tfidf.shape[0]
    assert np.allclose(np.linalg.norm(features.vectors, axis=1), 1, atol=1e-5)
    assert features.subset(np.array([3, 1])).tfidf[0].nnz == features.tfidf[3].nnz
    save_artifact(tmp_path, "features", features.to_arrays(), {})
    arrays, _ = load_artifact(tmp_path, "features")
    again = CorpusFeatures.from_arrays(arrays)
    assert abs(again.tfidf - features.tfidf).max() == 0
    # New records (a review update) land in the same vocabulary.
    new = again.transform(texts[:5], vectors[:5])
    assert new.tfidf.shape == (5, features.tfidf.shape[1])
    assert abs(new.tfidf - features.tfidf[:5]).max() < 1e-6


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_every_setting_fits_ranks_and_round_trips(adhd, tmp_path, setting):
    features, labels, _, _ = adhd
    train = np.arange(0, len(labels), 2)
    test = np.arange(1, len(labels), 2)
    model = RelevanceModel.from_setting(setting)
    with pytest.raises(NotFittedError):
        model.predict_proba(features.subset(test))
    assert model.fit(features.subset(train), labels[train]) is model
    scores = model.ranking_scores(features.subset(test))
    proba = model.predict_proba(features.subset(test))
    assert scores.shape == proba.shape == (len(test),)
    assert ((proba >= 0) & (proba <= 1)).all()
    # The held-out includes rank far above chance: most of them in the top fifth.
    top = np.argsort(-scores, kind="stable")[: len(test) // 5]
    assert labels[test][top].sum() >= 0.6 * labels[test].sum()
    # Calibration in the large: over the training rows, P(include) sums to the includes.
    assert model.predict_proba(features.subset(train)).sum() == pytest.approx(
        labels[train].sum(), rel=1e-3
    )
    save_artifact(tmp_path, "relevance", model.to_arrays(), {"params": model.get_params()})
    arrays, sidecar = load_artifact(tmp_path, "relevance")
    loaded = RelevanceModel.from_arrays(arrays, **sidecar["params"])
    assert np.allclose(loaded.ranking_scores(features.subset(test)), scores, atol=1e-5)
    assert np.allclose(loaded.predict_proba(features.subset(test)), proba, atol=1e-6)


def test_model_needs_both_classes_and_known_settings(adhd):
    features, labels, _, _ = adhd
    excludes = np.flatnonzero(labels == 0)[:20]
    with pytest.raises(ValueError, match="both classes"):
        RelevanceModel().fit(features.subset(excludes), labels[excludes])
    with pytest.raises(ValueError, match="unknown setting"):
        RelevanceModel.from_setting("nope")
    assert DEFAULT_SETTING in SETTINGS and {"u4", "logistic", "embedding-logistic"} <= set(SETTINGS)


def test_blend_weight_shrinks_as_includes_accumulate(adhd):
    features, labels, _, _ = adhd
    model = RelevanceModel(similarity_weight=2.0, adapt_includes=4)
    rows = np.concatenate([np.flatnonzero(labels == 1)[:16], np.flatnonzero(labels == 0)[:50]])
    model.fit(features.subset(rows), labels[rows])
    assert model.blend_weight() == pytest.approx(2.0 * np.sqrt(4 / 16))
    rows = np.concatenate([np.flatnonzero(labels == 1)[:2], np.flatnonzero(labels == 0)[:50]])
    assert model.fit(features.subset(rows), labels[rows]).blend_weight() == pytest.approx(2.0)
