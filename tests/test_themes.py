import csv
import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier.artifacts import load_artifact, save_artifact
from classifier.themes import ThemeModel, _fit_towards_prior
from index.records import embedding_text
from tests.conftest import DATA

DESCRIPTIONS = DATA.parent.parent / "bench" / "theme_descriptions.json"


@pytest.fixture(scope="module")
def themed():
    """Real rows of the theme benchmark as vectors from a fixed random projection of TF-IDF
    (no model), with the themes' names and descriptions projected the same way."""
    with (DATA / "themes" / "cohen_drug_classes.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    spec = json.loads(DESCRIPTIONS.read_text(encoding="utf-8"))["themes"]
    themes = sorted(spec)
    Y = np.zeros((len(rows), len(themes)), dtype=np.int8)
    for i, row in enumerate(rows):
        for theme in row["theme"].split(";"):
            Y[i, themes.index(theme)] = 1
    texts = [embedding_text(row["title"], row["abstract"]) for row in rows]
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english").fit(texts)
    projection = np.random.default_rng(0).normal(size=(len(tfidf.vocabulary_), 384))

    def vectors(strings):
        V = tfidf.transform(strings) @ projection
        return (V / np.linalg.norm(V, axis=1, keepdims=True)).astype(np.float32)

    order = np.random.default_rng(1).permutation(len(rows))
    return {
        "themes": themes,
        "tfidf": tfidf.transform(texts)[order],
        "X": vectors(texts)[order],
        "Y": Y[order],
        "names": vectors([spec[t]["name"] for t in themes]),
        "descs": vectors([spec[t]["description"] for t in themes]),
    }


def top1(proba, Y):
    return float(np.mean(Y[np.arange(len(Y)), proba.argmax(axis=1)] > 0))


def empty(themed):
    return themed["X"][:0], themed["Y"][:0]


def test_zero_shot_without_labels(themed):
    X, Y = themed["X"], themed["Y"]
    model = ThemeModel(themed["themes"], themed["names"], themed["descs"])
    with pytest.raises(NotFittedError):
        model.predict_proba(X)
    assert model.fit(*empty(themed)) is model
    assert model.mode_ == "zero-shot" and model.positives_.sum() == 0
    alone = top1(model.predict_proba(X), Y)
    # 13 themes: always naming the largest would score 0.18; the descriptions name the
    # drugs, and the unlabeled corpus sharpens them further.
    assert alone > 0.5
    with_corpus = top1(model.fit(*empty(themed), X_unlabeled=X).predict_proba(X), Y)
    assert model.mode_ == "zero-shot" and with_corpus > alone


def test_labels_take_over(themed):
    X, Y = themed["X"], themed["Y"]
    train, test = slice(0, 1500), slice(1500, None)
    zero_shot = ThemeModel(themed["themes"], themed["names"]).fit(*empty(themed), X[train])
    supervised = ThemeModel(themed["themes"], themed["names"]).fit(X[train], Y[train], X[test])
    assert supervised.mode_ == "supervised"
    assert supervised.positives_.tolist() == Y[train].sum(axis=0).tolist()
    zero_shot_top1 = top1(zero_shot.predict_proba(X[test]), Y[test])
    supervised_top1 = top1(supervised.predict_proba(X[test]), Y[test])
    assert supervised_top1 > 0.8 and supervised_top1 > zero_shot_top1 + 0.05
    # A handful of labels: some themes still lean on their names.
    few = ThemeModel(themed["themes"], themed["names"]).fit(X[:60], Y[:60], X[60:])
    assert few.mode_ == "blend"


def test_suggestions_are_ordered_probabilities(themed):
    X, Y = themed["X"], themed["Y"]
    model = ThemeModel(themed["themes"], themed["names"], themed["descs"]).fit(X[:800], Y[:800])
    proba = model.predict_proba(X[800:850])
    assert proba.shape == (50, len(themed["themes"]))
    assert np.all((proba >= 0) & (proba <= 1))
    suggestions = model.suggest(X[800:850], top=3)
    for row, suggested in zip(proba, suggestions, strict=True):
        assert len(suggested) == 3
        assert all(isinstance(theme, str) and isinstance(p, float) for theme, p in suggested)
        assert [p for _, p in suggested] == sorted(row, reverse=True)[:3]
        assert suggested[0][0] == themed["themes"][int(row.argmax())]
    confident = model.suggest(X[800:850], top=5, threshold=0.5)
    assert all(all(p >= 0.5 for _, p in row) for row in confident)
    assert any(len(row) < 5 for row in confident)


def test_round_trip_through_artifacts(themed, tmp_path):
    X, Y = themed["X"], themed["Y"]
    for labeled in (0, 300):
        model = ThemeModel(themed["themes"], themed["names"], themed["descs"], C=4.0)
        model.fit(X[:labeled], Y[:labeled], X[labeled:])
        save_artifact(tmp_path, "themes", model.to_arrays(), {"mode": model.mode_})
        arrays, meta = load_artifact(tmp_path, "themes")
        loaded = ThemeModel.from_arrays(arrays, C=4.0)
        assert loaded.mode_ == model.mode_ == meta["mode"]
        assert loaded.themes == themed["themes"]
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
        assert loaded.suggest(X[:5]) == model.suggest(X[:5])


def test_shape_errors_name_the_argument(themed):
    X, Y, names, descs = themed["X"], themed["Y"], themed["names"], themed["descs"]
    themes = themed["themes"]
    with pytest.raises(ValueError, match="name_vectors"):
        ThemeModel(themes, names[:-1]).fit(X[:10], Y[:10])
    with pytest.raises(ValueError, match="desc_vectors"):
        ThemeModel(themes, names, descs[:, :5]).fit(X[:10], Y[:10])
    model = ThemeModel(themes, names)
    with pytest.raises(ValueError, match=r"^Y "):
        model.fit(X[:10], Y[:9])
    with pytest.raises(ValueError, match=r"^Y "):
        model.fit(X[:10], Y[:10, :5])
    with pytest.raises(ValueError, match=r"^X "):
        model.fit(X[:10, :5], Y[:10])
    with pytest.raises(ValueError, match="X_unlabeled"):
        model.fit(X[:10], Y[:10], X[10:, :5])
    model.fit(X[:10], Y[:10])
    with pytest.raises(ValueError, match=r"^X "):
        model.predict_proba(X[:3, :5])
    with pytest.raises(ValueError, match="top"):
        model.suggest(X[:3], top=0)


def test_lexical_option_fuses_and_round_trips(themed, tmp_path):
    X, Y, lexical = themed["X"], themed["Y"], themed["tfidf"]
    train, test = slice(0, 1500), slice(1500, None)
    plain = ThemeModel(themed["themes"], themed["names"]).fit(X[train], Y[train], X[test])
    fused = ThemeModel(themed["themes"], themed["names"])
    fused.fit(X[train], Y[train], X[test], lexical=lexical[train])
    # Without lexical rows at prediction time the model is the embedding model.
    assert np.array_equal(fused.predict_proba(X[test]), plain.predict_proba(X[test]))
    proba = fused.predict_proba(X[test], lexical=lexical[test])
    assert np.all((proba >= 0) & (proba <= 1))
    # The random projection loses words that TF-IDF keeps.
    assert top1(proba, Y[test]) > top1(plain.predict_proba(X[test]), Y[test]) + 0.02
    save_artifact(tmp_path, "themes", fused.to_arrays(), {})
    loaded = ThemeModel.from_arrays(load_artifact(tmp_path, "themes")[0])
    assert np.array_equal(loaded.predict_proba(X[test], lexical=lexical[test]), proba)
    with pytest.raises(ValueError, match="lexical"):
        fused.predict_proba(X[test], lexical=lexical[:3])
    with pytest.raises(ValueError, match="lexical"):
        ThemeModel(themed["themes"], themed["names"]).fit(X[:10], Y[:10], lexical=lexical[:9])


def per_theme(Y, n, seed=0):
    """Row indices with ``n`` records of each theme (a multi-label row counts for each)."""
    rng = np.random.default_rng(seed)
    rows = {int(i) for t in range(Y.shape[1]) for i in rng.permutation(np.flatnonzero(Y[:, t]))[:n]}
    return np.array(sorted(rows))


def test_neighbourhood_self_training_helps_with_few_labels(themed):
    """Ten labeled records per theme and the rest of the corpus unlabeled: the pseudo-labeled
    corpus (smoothed over each record's nearest neighbours) beats the labels alone."""
    X, Y = themed["X"], themed["Y"]
    labeled = per_theme(Y, 10)
    rest = np.setdiff1d(np.arange(len(Y)), labeled)
    scores = []
    for weight in (0.0, 0.3):
        model = ThemeModel(themed["themes"], themed["names"], themed["descs"], pseudo_weight=weight)
        model.fit(X[labeled], Y[labeled], X[rest])
        assert model.mode_ == "blend"
        scores.append(top1(model.predict_proba(X[rest]), Y[rest]))
    assert scores[1] > scores[0] + 0.02
    # Without unlabeled records there is nothing to pseudo-label: the same fit either way.
    alone = [
        ThemeModel(themed["themes"], themed["names"], pseudo_weight=weight)
        .fit(X[labeled], Y[labeled])
        .predict_proba(X[rest])
        for weight in (0.0, 0.3)
    ]
    assert np.array_equal(alone[0], alone[1])


def test_record_weight_counts_as_repeated_records():
    """A record of weight 2 in the prior-penalised fit is the record given twice."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 4))
    Y = (rng.random((12, 2)) < 0.4).astype(float)
    Y[0], Y[1] = 1.0, 0.0
    W0, b0 = rng.normal(size=(4, 2)), np.zeros(2)
    weights = np.ones(12)
    weights[3] = 2.0
    weighted = _fit_towards_prior(X, Y, W0, b0, 1.0, 1000, weights)
    repeated = _fit_towards_prior(np.vstack([X, X[3:4]]), np.vstack([Y, Y[3:4]]), W0, b0, 1.0, 1000)
    for a, b in zip(weighted, repeated, strict=True):
        assert np.allclose(a, b, atol=1e-4)
