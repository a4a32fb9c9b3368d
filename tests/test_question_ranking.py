"""The question as a ranking signal, the tail phase and adaptive part weights (issue 14), on the
ADHD review with stand-in vectors as in test_relevance."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from classifier.features import TFIDF_PARAMS, CorpusFeatures
from classifier.question import _term_counts, bm25_scores, question_signal
from classifier.ranking import fit_relevance, pool_scores
from classifier.relevance import (
    DEFAULT_SETTING,
    SETTINGS,
    RelevanceModel,
    _robust_z,
    _zscore,
)
from classifier.simulate import simulate
from tests.test_relevance import labelled

QUESTION = (
    "What is the comparative effectiveness and safety of drugs for attention deficit "
    "hyperactivity disorder: methylphenidate, amphetamine, atomoxetine?"
)


@pytest.fixture(scope="module")
def adhd():
    texts, labels, vectors = labelled("Cohen_2006_ADHD")
    return CorpusFeatures.build(texts, vectors), labels, texts


def test_term_counts_are_those_behind_the_tfidf(adhd):
    features, _, texts = adhd
    counts = CountVectorizer(
        ngram_range=TFIDF_PARAMS["ngram_range"], vocabulary=features.vectorizer.vocabulary_
    ).fit_transform(texts)
    derived = _term_counts(features.tfidf, features.vectorizer.idf_)
    assert derived.shape == counts.shape
    # Exact on every row with a term seen once (all of them here).
    assert abs(derived - counts).max() == 0


def test_bm25_read_in_blocks_of_rows_is_the_same(adhd, monkeypatch):
    import classifier.question as question

    features, _, _ = adhd
    whole = bm25_scores(features, QUESTION)
    monkeypatch.setattr(question, "_BLOCK_ROWS", 100)  # 851 records: nine blocks
    assert np.allclose(bm25_scores(features, QUESTION), whole, rtol=0, atol=1e-12)


def test_new_records_score_against_the_corpus_as_its_own_records_do(adhd):
    """A review update's hits (mapped into the corpus vocabulary) get the BM25 and question
    signal they would have as records of the corpus."""
    from classifier.question import corpus_question_signal

    features, _, texts = adhd
    rows = np.arange(0, len(texts), 7)
    hits = features.transform([texts[i] for i in rows], features.vectors[rows])
    vector = features.vectors[3]
    signal, reference = corpus_question_signal(features, QUESTION, vector)
    assert reference.corpus.records == len(texts)
    assert np.array_equal(signal, question_signal(features, QUESTION, vector))
    expected = bm25_scores(features, QUESTION)[rows]
    assert np.allclose(bm25_scores(hits, QUESTION, corpus=reference.corpus), expected, atol=1e-9)
    assert np.allclose(
        question_signal(hits, QUESTION, vector, reference=reference), signal[rows], atol=1e-6
    )
    # Without the corpus's statistics the hits would be scored as a corpus of their own.
    assert not np.allclose(bm25_scores(hits, QUESTION), expected, atol=1e-3)


def test_bm25_ranks_records_that_use_the_question_words_first(adhd):
    features, labels, texts = adhd
    scores = bm25_scores(features, "methylphenidate atomoxetine")
    assert scores.shape == (len(texts),)
    mentions = np.array(
        ["methylphenidate" in t.lower() or "atomoxetine" in t.lower() for t in texts]
    )
    assert (scores[~mentions] == 0).all() and (scores[mentions] > 0).all()
    assert bm25_scores(features, "zzzunknownword").max() == 0
    # On this review the question alone finds includes far above their 2 % share.
    signal = question_signal(features, QUESTION)
    top = np.argsort(-signal)[: len(labels) // 10]
    assert labels[top].mean() > 3 * labels.mean()


def test_question_signal_checks_its_inputs(adhd):
    features, _, _ = adhd
    with pytest.raises(ValueError, match="empty"):
        question_signal(features, "  ")
    with pytest.raises(ValueError, match="dimensions"):
        question_signal(features, QUESTION, np.ones(3))
    signal = question_signal(features, QUESTION, features.vectors[0])
    assert signal.shape == (len(features),) and abs(signal.mean()) < 1e-9


def _train_rows(labels, n_includes=6, n_excludes=60):
    return np.concatenate(
        [np.flatnonzero(labels == 1)[:n_includes], np.flatnonzero(labels == 0)[:n_excludes]]
    )


def test_robust_scaling_is_not_squeezed_by_a_long_tail(adhd):
    values = np.concatenate([np.linspace(-1.0, 1.0, 99), [1000.0]])
    scaled = _robust_z(values)
    q1, median, q3 = np.percentile(scaled, [25, 50, 75])
    assert abs(median) < 1e-12 and np.isclose(q3 - q1, 1.349)
    assert np.ptp(scaled[:99]) > 2 and np.ptp(_zscore(values)[:99]) < 0.1  # the tail squeezes z
    flat = np.array([0.0] * 90 + list(range(1, 11)), dtype=float)  # IQR 0: the plain z-score
    assert np.allclose(_robust_z(flat), _zscore(flat))
    # The robust setting ranks with the same model, its parts scaled by median and IQR.
    features, labels, _ = adhd
    rows = _train_rows(labels)
    robust = fit_relevance(features, rows, labels[rows], "default+question.5+robust")
    plain = fit_relevance(features, rows, labels[rows], "default+question0.5")
    assert np.array_equal(robust.coef_, plain.coef_)
    assert np.allclose(robust.parts(features)[:, 0], _robust_z(plain.decision_function(features)))
    # The default is that model with the question weighed 0.75 instead of 0.5.
    default = fit_relevance(features, rows, labels[rows], DEFAULT_SETTING)
    assert np.array_equal(default.coef_, plain.coef_)
    assert np.allclose(default.parts(features), robust.parts(features))
    assert (default.scale, default.question_weight) == ("robust", 0.75)


def test_the_question_weight_lifts_what_the_question_says(adhd):
    features, labels, _ = adhd
    rows = _train_rows(labels)
    pool = np.setdiff1d(np.arange(len(labels)), rows)
    signal = np.zeros(len(labels))
    signal[pool[-1]] = 50.0  # the pool's last record answers the question best by far
    model = fit_relevance(features, rows, labels[rows], "default+question1")
    without = fit_relevance(features, rows, labels[rows], "logistic+maxcos+semantic")
    lifted = pool_scores(features, pool, model=model, include_rows=rows, question=signal)
    plain = pool_scores(features, pool, model=without, include_rows=rows, question=signal)
    assert np.argmax(lifted.scores) == len(pool) - 1
    assert np.argmax(plain.scores) != len(pool) - 1
    # No signal given: the question part is left out and the default's scores come back.
    alone = pool_scores(features, pool, model=model, include_rows=rows)
    assert np.allclose(alone.scores, plain.scores)


def _dry_and_spread(labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """8 includes and 80 excludes; in the order ``rows`` (the includes first) the last 50
    decisions hold no include (the tail), in the order ``spread`` 8 of them do (no tail)."""
    includes, excludes = np.flatnonzero(labels == 1)[:8], np.flatnonzero(labels == 0)[:80]
    rows = np.concatenate([includes, excludes])
    spread = np.concatenate([excludes[:40], includes, excludes[40:]])
    return includes, excludes, rows, spread


def test_the_tail_phase_starts_when_includes_dry_up(adhd):
    features, labels, _ = adhd
    includes, _, rows, spread = _dry_and_spread(labels)
    model = RelevanceModel.from_setting("default+question.5+tail0.05")
    dry = model.fit(features.subset(rows), labels[rows], order=np.arange(len(rows)))
    assert dry.weights_[4] == 0.5
    assert np.allclose(dry.tail_vectors_, features.vectors[includes[-5:]])
    busy = model.fit(features.subset(spread), labels[spread], order=np.arange(len(spread)))
    assert busy.weights_[4] == 0 and len(busy.tail_vectors_) == 0
    # Without the decision order there is no tail phase either.
    assert model.fit(features.subset(rows), labels[rows]).weights_[4] == 0


def test_the_late_includes_model_joins_in_the_tail(adhd):
    features, labels, _ = adhd
    includes, excludes, rows, spread = _dry_and_spread(labels)
    model = RelevanceModel.from_setting("default+question.5+late0.05")
    # 8 includes, then 80 excludes: the tail, whose second model learns from the last 4
    # includes found and every exclude, and ranks as that logistic regression alone would.
    dry = model.fit(features.subset(rows), labels[rows], order=np.arange(len(rows)))
    assert dry.weights_[5] == 0.75 and dry.weights_[4] == 0
    late = np.concatenate([includes[4:], excludes])
    alone = RelevanceModel.from_setting("logistic").fit(features.subset(late), labels[late])
    assert np.allclose(dry.parts(features)[:, 5], _zscore(alone.decision_function(features)))
    # Includes spread over the decisions: no tail, no second model; it ranks as its base.
    busy = model.fit(features.subset(spread), labels[spread], order=np.arange(len(spread)))
    assert busy.weights_[5] == 0 and not busy.late_coef_.any()
    assert np.allclose(
        busy.ranking_scores(features),
        RelevanceModel.from_setting("default+question0.5")
        .fit(features.subset(spread), labels[spread])
        .ranking_scores(features),
    )


def test_adaptive_weights_follow_each_parts_recent_precision(adhd):
    features, labels, _ = adhd
    includes, excludes = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    rows = np.concatenate([includes[:10], excludes[:100], includes[10:16], excludes[100:144]])
    order = np.arange(len(rows))
    y = labels[rows]
    window = order >= len(rows) - 50
    perfect = np.where(y == 1, 1.0, 0.0) + np.linspace(0, 0.1, len(rows))
    model = RelevanceModel.from_setting("default+question.5+adaptive50t1")
    model.fit(features.subset(rows), y, order=order, question=perfect)
    base = model._base_weights()
    scale = model.weights_ / np.where(base > 0, base, 1)
    # The question part ranks the window's includes first: it gets the largest weight.
    assert scale[3] == scale[:4].max() and scale[3] > 1
    # A question that ranks them last earns the smallest.
    model.fit(features.subset(rows), y, order=order, question=-perfect)
    scale = model.weights_ / np.where(base > 0, base, 1)
    assert scale[3] == scale[:4].min() and scale[3] < 1
    # Too few decisions for a window with both classes before it: the fixed weights.
    first = np.concatenate([includes[:2], excludes[:40]])
    few = model.fit(features.subset(first), labels[first], order=np.arange(len(first)))
    assert np.allclose(few.weights_, base)
    assert window.sum() == 50


@pytest.mark.parametrize("setting", ["default+question.5+tail0.05", "default+question.5+late0.05"])
def test_learned_weights_round_trip_and_old_artifacts_load(adhd, setting):
    features, labels, _ = adhd
    rows = _train_rows(labels, 8, 80)
    model = RelevanceModel.from_setting(setting)
    model.fit(features.subset(rows), labels[rows], order=np.arange(len(rows)))
    arrays = model.to_arrays()
    again = RelevanceModel.from_arrays(arrays, **model.get_params())
    signal = np.linspace(0, 1, len(labels))
    assert np.allclose(
        again.ranking_scores(features, signal), model.ranking_scores(features, signal)
    )
    old = {k: v for k, v in arrays.items() if k not in ("weights", "tail_vectors", "late_coef")}
    loaded = RelevanceModel.from_arrays(old, **model.get_params())
    assert np.allclose(loaded.weights_, model._base_weights())
    # Saved before the late-includes model: five weights, no late coefficients.
    five = old | {"weights": arrays["weights"][:5]}
    loaded = RelevanceModel.from_arrays(five, **model.get_params())
    assert len(loaded.weights_) == len(RelevanceModel.PARTS) and not loaded.late_coef_.any()


@pytest.mark.slow
@pytest.mark.parametrize(
    "setting", ["default+question.5+adaptive50t1", "default+question.5+tail0.05"]
)
def test_simulations_with_the_question_are_deterministic(adhd, setting):
    assert setting in SETTINGS
    features, labels, _ = adhd
    signal = question_signal(features, QUESTION)
    run = simulate(features, labels, seed=0, setting=setting, retrain="fast", question=signal)
    again = simulate(features, labels, seed=0, setting=setting, retrain="fast", question=signal)
    assert run.order == again.order and sorted(run.order) == list(range(len(labels)))
    assert run.metrics["loss"] < 0.2
