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


def test_the_relevance_tfidf_reads_the_keywords_and_the_theme_tfidf_does_not(service):
    """A record's keywords (MeSH headings in the Cohen files) are words of the record for the
    relevance model and the question's BM25; the embeddings and the theme model's TF-IDF read
    title and abstract."""
    from index.records import lexical_text

    path = DATA / "screening" / "Cohen_2006_ADHD.csv"
    records = read_records(path, ignore_labels=True)
    first = records[0]
    assert first.keywords and first.lexical_text.startswith(first.text)
    assert first.lexical_text.endswith("; ".join(first.keywords))
    assert lexical_text("", "", ["Humans"]) == "Humans" and lexical_text("A", "", []) == "A"
    # a heading that no title or abstract of the review uses
    heading = next(
        k
        for r in records
        for k in r.keywords
        if " " not in k and all(k.lower() not in x.text.lower() for x in records)
    ).lower()
    service.import_files("kw", [path], ignore_labels=True)
    project_id = service.project("kw").project_id
    texts = service.store.lexical_texts(project_id)
    assert [t for _, t, _ in texts] == [t for _, _, t in service.store.texts(project_id)]
    built = service.text_features(project_id).features
    assert heading in built.vectorizer.vocabulary_
    assert heading not in built.theme_vectorizer.vocabulary_
