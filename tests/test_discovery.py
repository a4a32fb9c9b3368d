"""Theme discovery and representative picks (classifier/discovery.py, classifier/picks.py) on
the Cohen drug-class theme set: the fake hashing encoder for the fast tests, the real model's
cached vectors for the benchmark's claim."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from classifier.discovery import cluster, discover_themes, distinctive_terms
from classifier.picks import is_review, pick_representatives
from index.records import embedding_text
from tests.conftest import DATA

THEMES_CSV = DATA / "themes" / "cohen_drug_classes.csv"
FOUR = ("Triptans", "ADHD", "Estrogens", "Antihistamines")


def theme_rows(themes=FOUR, per_theme: int = 30) -> list[dict[str, str]]:
    """The first ``per_theme`` records with an abstract of each of ``themes`` (one review
    each), in file order."""
    with THEMES_CSV.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["abstract"] and ";" not in r["theme"]]
    out = []
    for theme in themes:
        out += [r for r in rows if r["theme"] == theme][:per_theme]
    return out


def lexical_vectors(texts: list[str], dimension: int = 100) -> np.ndarray:
    """A fast, deterministic stand-in for sentence embeddings: TF-IDF (English stop words
    out) reduced by SVD and L2-normalised. The hashing encoder's bag of every word (``the``
    as much as ``sumatriptan``) leaves too little structure to cluster."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts)
    return normalize(TruncatedSVD(dimension, random_state=0).fit_transform(tfidf)).astype(
        np.float32
    )


@pytest.fixture(scope="module")
def four():
    rows = theme_rows()
    texts = [embedding_text(r["title"], r["abstract"]) for r in rows]
    X = lexical_vectors(texts)
    truth = np.array([FOUR.index(r["theme"]) for r in rows])
    return rows, texts, X, truth


def test_proposals_find_the_reviews_without_being_told_how_many(four):
    rows, texts, X, truth = four
    found = discover_themes(X, texts)
    assert 2 <= found.k <= 30 and found.method == "ward"
    assert adjusted_rand_score(truth, found.labels) > 0.5
    # Largest first, every record in exactly one own cluster, sizes add up.
    sizes = [p.size for p in found.proposals]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(rows)
    for p in found.proposals:
        own = np.flatnonzero(found.labels == p.index)
        assert set(own) <= set(p.members.tolist())
        assert len(p.members) == p.size + p.overlapping
        assert np.all(np.diff(p.similarity) <= 1e-6)  # nearest the centre first
        assert 1 <= len(p.representatives) <= 5
        assert set(p.representatives.tolist()) <= set(own.tolist())
        assert p.terms and p.name() and p.description().startswith("Records about")
    # A drug or condition of each review names the proposal that holds most of it.
    named = " ".join(" ".join(t for t, _ in p.terms) for p in found.proposals)
    for word in ("migraine", "adhd", "estradiol"):
        assert word in named


def test_overlap_is_within_the_margin(four):
    _, texts, X, _ = four
    none = discover_themes(X, texts, overlap=0.0, min_similarity=1.1)
    assert all(p.overlapping == 0 for p in none.proposals)
    wide = discover_themes(X, texts, overlap=1.0, min_similarity=-1.0)
    assert all(len(p.members) == len(X) for p in wide.proposals)


def test_methods_and_guards(four):
    _, texts, X, _ = four
    labels, silhouette = cluster(X, method="hdbscan")
    assert silhouette is None and labels.min() == 0 and len(labels) == len(X)
    labels, silhouette = cluster(X, method="kmeans", max_k=6)
    assert 2 <= labels.max() + 1 <= 6 and silhouette is not None
    with pytest.raises(ValueError, match="method"):
        cluster(X, method="lda")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 6"):
        discover_themes(X[:3], texts[:3])
    with pytest.raises(ValueError, match="texts"):
        discover_themes(X, texts[:-1])


def test_terms_are_distinctive_not_common():
    texts = ["migraine sumatriptan patients"] * 5 + ["adhd methylphenidate patients"] * 5
    labels = np.array([0] * 5 + [1] * 5)
    terms = distinctive_terms(texts, labels, 2)
    assert terms[0][0][0] in {"migraine", "sumatriptan", "migraine sumatriptan"}
    assert all("patients" not in t for t, _ in terms[0] + terms[1])
    assert distinctive_terms(["", "", ""], np.zeros(3, dtype=int), 1) == [[]]


def test_picks_are_central_and_varied():
    # Three near-identical records at the centre and one different one: MMR takes one of the
    # three, then the different one, not a second copy.
    X = np.array([[1.0, 0.0, 0.0], [1.0, 0.01, 0.0], [1.0, 0.0, 0.01], [0.6, 0.8, 0.0]])
    picks = pick_representatives(X, 2, lam=0.5)
    assert picks[0].row in (0, 1, 2) and picks[1].row == 3
    assert picks[0].redundancy is None and picks[1].redundancy is not None
    assert "central to the theme" in picks[0].reason and "nearest pick (#1)" in picks[1].reason
    assert [p.order for p in picks] == [1, 2]
    assert len(pick_representatives(X, 10)) == 4 and pick_representatives(X[:0], 3) == []
    with pytest.raises(ValueError, match="n must"):
        pick_representatives(X, 0)


def test_reviews_first(four):
    _, texts, X, _ = four
    reviews = is_review(texts)
    assert reviews.any() and not reviews.all()
    picks = pick_representatives(X, 8, reviews=reviews, reviews_first=True)
    flags = [p.review for p in picks]
    assert flags == sorted(flags, reverse=True)  # every review before any other record
    assert flags[0] and "a review (reviews first)" in picks[0].reason
    plain = pick_representatives(X, 8, reviews=reviews)
    assert [p.row for p in plain] != [p.row for p in picks]


def test_review_detection_prefers_study_types():
    texts = ["A systematic review of triptans", "A randomised trial of triptans", "Review"]
    assert is_review(texts).tolist() == [True, False, False]
    types = {1: "randomised controlled trial", 2: "Systematic review"}
    assert is_review(texts, [1, 2, 3], types).tolist() == [False, True, False]
    assert is_review(["Meta-analysis of beta blockers", "Omeprazole. A review of its use"]).all()


@pytest.mark.model
def test_real_model_beats_kmeans_told_the_true_k(cached_encoder):
    """The benchmark's claim on the full theme set with the packaged model's vectors."""
    with THEMES_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    texts = [embedding_text(r["title"], r["abstract"]) for r in rows]
    X = cached_encoder.encode_documents(texts)
    names = sorted({r["theme"].split(";")[0] for r in rows})
    truth = np.array([names.index(r["theme"].split(";")[0]) for r in rows])
    found = discover_themes(X, texts)
    baseline = KMeans(13, n_init=10, random_state=0).fit_predict(X)
    assert 5 <= found.k <= 20
    assert adjusted_rand_score(truth, found.labels) > adjusted_rand_score(truth, baseline)
