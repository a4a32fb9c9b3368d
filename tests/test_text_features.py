"""The TF-IDF a job worker saves for the server: a round trip through plain arrays."""

from __future__ import annotations

import numpy as np

from index import read_records
from tests.conftest import DATA
from webapi.models import ModelSuite
from webapi.text_features import ProjectText, load_text_features, save_text_features


def test_saved_tfidf_and_vectorizers_round_trip_without_pickle(tmp_path):
    records = read_records(DATA / "screening" / "Cohen_2006_ADHD.csv", ignore_labels=True)[:300]
    built = ModelSuite().text_features([r.text for r in records])
    version = (300, 1234, "suite")
    ids = np.arange(10, 310, dtype=np.int64)
    path = tmp_path / "features" / "project-1.npz"
    save_text_features(path, ProjectText(version, ids, built))

    loaded = load_text_features(path, version)  # np.load(allow_pickle=False) reads it
    assert loaded is not None and np.array_equal(loaded.record_ids, ids)
    assert (loaded.features.tfidf != built.tfidf).nnz == 0
    assert (loaded.features.theme_tfidf != built.theme_tfidf).nnz == 0
    new = ["Methylphenidate for attention deficit hyperactivity disorder in children"]
    for mine, theirs in (
        (loaded.features.vectorizer, built.vectorizer),
        (loaded.features.theme_vectorizer, built.theme_vectorizer),
    ):
        assert (mine.transform(new) != theirs.transform(new)).nnz == 0
        assert mine.transform(new).nnz > 0
    assert np.array_equal(loaded.rows_of(np.array([12, 300])), [2, 290])
    # features of other records, or an older set of them, are not taken
    assert load_text_features(path, (301, 1235, "suite")) is None
    assert load_text_features(tmp_path / "missing.npz", version) is None
