"""Theme suggestion on the Cohen drug-class theme set: the theme model against plain
one-vs-rest logistic regression.

    python -m bench.themes [--data DIR] [--embeddings-cache FILE] [--json OUT]

Prints markdown tables, comparing the issue's baseline (one-vs-rest logistic regression,
C=1, on the embeddings) with the theme model (names; names + descriptions; names + descriptions
with its lexical option, TF-IDF of the texts beside the embeddings, which is what the service
fits, through the service's own function ``classifier.themes.fit_theme_model`` and TF-IDF
``webapi.models.ModelSuite.features``; and that configuration without the self-training on the
unlabeled corpus, with the earlier defaults C=16, prior_scale=5, for comparison):

1. 5-fold cross-validation (stratified on each record's first theme, fixed seed), all training
   records labeled: top-1 accuracy (the top suggestion is one of the record's themes), macro-F1
   over the 13 themes and fit+predict time per fold. Predicted themes for F1: the top suggestion
   plus any other theme with probability >= 0.5.
2. The learning curve: 5, 10 and 20 labeled records per theme, drawn from the training folds
   (``--repeats`` draws per fold), scored on the test fold; the rest of the corpus is passed to
   the theme model as unlabeled.
3. Zero-shot top-1 over all records from the theme text alone, with and without the corpus as
   unlabeled records.

Theme names and descriptions come from ``bench/theme_descriptions.json``, written for this
benchmark (a review team's definitions of its themes, not taken from the records). Texts are
embedded through the shared cache (only texts it lacks are embedded).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from bench._common import REPO, default_data_dir, default_embedding_cache, markdown_table
from classifier.themes import ThemeModel, fit_theme_model

DESCRIPTIONS = REPO / "bench" / "theme_descriptions.json"
THRESHOLD = 0.5
SERVICE = "the service's: names + descriptions + TF-IDF part, self-trained (fit_theme_model)"
PER_THEME = (5, 10, 20)

# (labeled, unlabeled, test) row indices -> probabilities of the test rows
Method = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def load_themes(path: Path) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Texts (title + abstract, as screenwise embeds them), theme names (sorted), the 0/1
    theme matrix of the theme CSV and each row's first theme (its column); multi-label rows
    list their themes separated by ``;``."""
    from index.records import embedding_text

    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = [row["theme"].split(";") for row in rows]
    themes = sorted({theme for row in labels for theme in row})
    Y = np.zeros((len(rows), len(themes)), dtype=np.int8)
    for i, row in enumerate(labels):
        Y[i, [themes.index(theme) for theme in row]] = 1
    texts = [embedding_text(row["title"], row["abstract"]) for row in rows]
    first = np.array([themes.index(row[0]) for row in labels])
    return texts, themes, Y, first


def embedded_themes(data: Path, cache: Path, descriptions: Path):
    """The theme benchmark's texts, theme names, 0/1 matrix and first themes, its embeddings
    (through the cache), the themes' names and descriptions (``descriptions``' JSON) and the
    embedder, for the scripts that measure the theme model."""
    from index.corpus import embed_texts
    from index.embedder import Embedder
    from index.store import Store

    texts, themes, Y, first = load_themes(data / "themes" / "cohen_drug_classes.csv")
    spec = json.loads(descriptions.read_text(encoding="utf-8"))["themes"]
    embedder = Embedder()
    store = Store(cache)
    try:
        X = embed_texts(store, embedder, texts, progress=True)
    finally:
        store.close()
    return texts, themes, Y, first, X, spec, embedder


def top1(proba: np.ndarray, Y: np.ndarray) -> float:
    return float(np.mean(Y[np.arange(len(Y)), proba.argmax(axis=1)] > 0))


def macro_f1(proba: np.ndarray, Y: np.ndarray, threshold: float = THRESHOLD) -> float:
    """Macro-F1 over themes; predicted: the top theme plus any theme at or above
    ``threshold``."""
    predicted = proba >= threshold
    predicted[np.arange(len(proba)), proba.argmax(axis=1)] = True
    truth = Y > 0
    tp = (predicted & truth).sum(axis=0)
    fp = (predicted & ~truth).sum(axis=0)
    fn = (~predicted & truth).sum(axis=0)
    return float(np.mean(2 * tp / np.maximum(2 * tp + fp + fn, 1)))


def baseline_lr(X: np.ndarray, Y: np.ndarray) -> Method:
    """The issue's measured baseline: one ``LogisticRegression(class_weight="balanced")``
    (liblinear, C=1) per theme on the raw embeddings."""

    def method(labeled: np.ndarray, _unlabeled: np.ndarray, test: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(test), Y.shape[1]))
        for t in range(Y.shape[1]):
            model = LogisticRegression(class_weight="balanced", solver="liblinear", max_iter=1000)
            proba[:, t] = model.fit(X[labeled], Y[labeled, t]).predict_proba(X[test])[:, 1]
        return proba

    return method


def theme_model(
    X: np.ndarray,
    Y: np.ndarray,
    themes: list[str],
    names: np.ndarray,
    descs: np.ndarray | None,
    lexical=None,
    **params,
) -> Method:
    """The theme model, the rest of the corpus passed as unlabeled; with ``lexical`` (TF-IDF
    rows of every record) its lexical option."""

    def method(labeled: np.ndarray, unlabeled: np.ndarray, test: np.ndarray) -> np.ndarray:
        model = ThemeModel(themes, names, descs, **params)
        if lexical is None:
            return model.fit(X[labeled], Y[labeled], X[unlabeled]).predict_proba(X[test])
        model.fit(X[labeled], Y[labeled], X[unlabeled], lexical=lexical[labeled])
        return model.predict_proba(X[test], lexical=lexical[test])

    return method


def service_model(
    X: np.ndarray, Y: np.ndarray, names: np.ndarray, descs: np.ndarray | None, lexical
) -> Method:
    """What the service fits (``classifier.themes.fit_theme_model``, as ``webapi/models.py``
    calls it): names + descriptions, the TF-IDF part on the service's theme TF-IDF of the
    corpus (``lexical``: ``CorpusFeatures.theme_tfidf``), self-training on the records without
    labels, neighbours from an exact top-k (the service asks its FAISS index, which finds the
    same ones)."""

    def method(labeled: np.ndarray, unlabeled: np.ndarray, test: np.ndarray) -> np.ndarray:
        model = fit_theme_model(
            X[labeled], Y[labeled], names, descs, X[unlabeled], lexical=lexical[labeled]
        )
        return model.predict_proba(X[test], lexical=lexical[test])

    return method


def per_theme_sample(Y: np.ndarray, pool: np.ndarray, n: int, rng: np.random.Generator):
    """Indices of ``n`` records of each theme drawn from ``pool`` (fewer when the theme has
    fewer); a multi-label record drawn for one theme brings all its labels."""
    chosen: set[int] = set()
    for t in range(Y.shape[1]):
        candidates = pool[Y[pool, t] > 0]
        take = min(n, len(candidates))
        chosen.update(rng.choice(candidates, size=take, replace=False).tolist())
    return np.array(sorted(chosen))


def evaluate(
    method: Method, Y: np.ndarray, folds, per_theme: int | None, repeats: int
) -> dict[str, float]:
    """Mean top-1, macro-F1 and fit+predict seconds over the folds (and draws)."""
    rng = np.random.default_rng(0)
    scores: list[tuple[float, float, float]] = []
    everything = np.arange(len(Y))
    for train, test in folds:
        for _ in range(repeats if per_theme else 1):
            labeled = train if per_theme is None else per_theme_sample(Y, train, per_theme, rng)
            unlabeled = np.setdiff1d(everything, labeled)
            start = time.perf_counter()
            proba = method(labeled, unlabeled, test)
            seconds = time.perf_counter() - start
            scores.append((top1(proba, Y[test]), macro_f1(proba, Y[test]), seconds))
    top, f1, seconds = np.mean(scores, axis=0)
    return {"top1": float(top), "macro_f1": float(f1), "seconds": float(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--descriptions", type=Path, default=DESCRIPTIONS)
    parser.add_argument("--repeats", type=int, default=3, help="draws per fold (learning curve)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold split")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--quick", action="store_true", help="only the baseline and the service's model"
    )
    args = parser.parse_args()

    texts, themes, Y, first, X, spec, embedder = embedded_themes(
        args.data, args.embeddings_cache, args.descriptions
    )

    def encode(strings: list[str]) -> np.ndarray:
        return np.stack([embedder.encode_query(text) for text in strings])

    labels = encode([re.sub(r"(?<=[a-z])(?=[A-Z])", " ", theme) for theme in themes])
    names = encode([spec[theme]["name"] for theme in themes])
    descs = encode([spec[theme]["description"] for theme in themes])

    folds = list(StratifiedKFold(5, shuffle=True, random_state=args.seed).split(X, first))
    # The service's features of a project holding these records: TF-IDF fitted on the whole
    # corpus (no labels used), as ``ModelSuite.features`` builds it.
    from webapi.models import ModelSuite

    lexical = ModelSuite().features(X, texts).theme_tfidf
    methods: dict[str, Method] = {
        "one-vs-rest LR (baseline, C=1)": baseline_lr(X, Y),
        "ThemeModel, names": theme_model(X, Y, themes, names, None),
        "ThemeModel, names + descriptions": theme_model(X, Y, themes, names, descs),
        SERVICE: service_model(X, Y, names, descs, lexical),
        "same, no self-training (pseudo_weight=0, C=16, prior_scale=5)": theme_model(
            X, Y, themes, names, descs, lexical, pseudo_weight=0.0, C=16.0, prior_scale=5.0
        ),
    }
    if args.quick:
        methods = {name: methods[name] for name in ("one-vs-rest LR (baseline, C=1)", SERVICE)}
    results: dict[str, object] = {"n_records": len(X), "themes": themes, "threshold": THRESHOLD}

    full = {name: evaluate(m, Y, folds, None, 1) for name, m in methods.items()}
    results["full_folds"] = full
    print(f"## 5-fold CV, full training folds ({len(X)} records, {len(themes)} themes)\n")
    print(
        markdown_table(
            ["method", "top-1", f"macro-F1 (top-1 + p>={THRESHOLD})", "fit+predict s"],
            [
                [name, f"{r['top1']:.3f}", f"{r['macro_f1']:.3f}", f"{r['seconds']:.2f}"]
                for name, r in full.items()
            ],
        )
    )

    curve = {
        name: {n: evaluate(m, Y, folds, n, args.repeats) for n in PER_THEME}
        for name, m in methods.items()
    }
    results["learning_curve"] = curve
    print(f"\n## Learning curve: top-1 / macro-F1, 5 folds x {args.repeats} draws\n")
    print(
        markdown_table(
            ["method", *(f"{n} per theme" for n in PER_THEME)],
            [
                [name, *(f"{r[n]['top1']:.3f} / {r[n]['macro_f1']:.3f}" for n in PER_THEME)]
                for name, r in curve.items()
            ],
        )
    )

    empty_X, empty_Y = X[:0], Y[:0]
    rows = []
    zero_shot: dict[str, dict[str, float]] = {}
    for label, name_vectors, desc_vectors in [
        ("bare labels (CamelCase split)", labels, None),
        ("names", names, None),
        ("names + descriptions", names, descs),
        ("descriptions only", descs, None),
    ]:
        model = ThemeModel(themes, name_vectors, desc_vectors)
        alone = top1(model.fit(empty_X, empty_Y).predict_proba(X), Y)
        corpus = top1(model.fit(empty_X, empty_Y, X).predict_proba(X), Y)
        zero_shot[label] = {"alone": alone, "with_corpus": corpus}
        rows.append([label, f"{alone:.3f}", f"{corpus:.3f}"])
    results["zero_shot"] = zero_shot
    print("\n## Zero-shot top-1 (no labels), all records\n")
    print(markdown_table(["theme text", "text alone", "text + unlabeled corpus"], rows))

    # The service's fit (in its background refit): labeled records as X, the rest as
    # X_unlabeled; one fit, one core, for a few splits of the same 2,016 records.
    timings = {}
    rng = np.random.default_rng(0)
    half = np.sort(rng.permutation(len(X))[: len(X) // 2])
    for label, labeled in [
        (f"all {len(X)} labeled", np.arange(len(X))),
        ("half labeled, half unlabeled", half),
        (
            "10 per theme labeled, the rest unlabeled",
            per_theme_sample(Y, np.arange(len(X)), 10, rng),
        ),
    ]:
        rest = np.setdiff1d(np.arange(len(X)), labeled)
        start = time.perf_counter()
        fit_theme_model(X[labeled], Y[labeled], names, descs, X[rest], lexical=lexical[labeled])
        timings[label] = time.perf_counter() - start
    results["fit_seconds"] = timings
    print(f"\n## Fit time, {len(X)} records (labeled + unlabeled), one fit\n")
    print(markdown_table(["labels", "fit s"], [[k, f"{v:.2f}"] for k, v in timings.items()]))

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
