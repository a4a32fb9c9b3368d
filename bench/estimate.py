"""Estimate against truth: how many relevant records remain unscreened, at 25/50/75 % screened.

Replays every dataset in ``--data``/screening with seeds 0, 1, 2 (the project's simulator,
``classifier.simulate.simulate(..., retrain="fast")``, the default ranking with the review's
question from ``bench/questions.json``; a stand-in ranking when that module is missing, named
in the output), stops at each checkpoint and compares
``classifier.estimate.estimate_remaining`` with the truth: the relevant records among the
unscreened. The estimate runs twice: from the decisions alone, and with the probabilities a
relevance model trained on the decisions so far gives the unscreened records.

    .venv/bin/python -m bench.estimate [--data DIR] [--embeddings-cache FILE] [--seeds 0 1 2]

Prints markdown tables; writes bench/out/estimate.json (the rows) and keeps the screening
orders in bench/out/estimate_orders.json so ``--reuse-orders`` re-scores without replaying.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench._common import (
    REPO,
    default_data_dir,
    default_embedding_cache,
    labeled_with_vectors,
    markdown_table,
    question_inputs,
    replay,
)
from classifier.estimate import estimate_remaining

FRACTIONS = (0.25, 0.50, 0.75)
OUT = REPO / "bench" / "out"


def _stand_in_order(vectors: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """A simple ranked screening, used only when ``classifier.simulate`` is missing: one
    include and one exclude drawn with the seed, then balanced logistic regression on the
    embeddings, retrained after every 10 decisions."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    order = [
        int(rng.choice(np.flatnonzero(labels == 1))),
        int(rng.choice(np.flatnonzero(labels == 0))),
    ]
    screened = np.zeros(len(labels), dtype=bool)
    screened[order] = True
    while not screened.all():
        model = LogisticRegression(class_weight="balanced", solver="liblinear")
        model.fit(vectors[order], labels[order])
        scores = model.decision_function(vectors)
        candidates = np.flatnonzero(~screened)
        best = candidates[np.argsort(-scores[candidates], kind="stable")][:10]
        order.extend(int(i) for i in best)
        screened[best] = True
    return np.asarray(order)


def _ranker():
    """(name, order function, probability function) of the project's classifier, or the
    stand-in."""
    try:
        from classifier.features import CorpusFeatures
        from classifier.relevance import DEFAULT_SETTING, RelevanceModel
    except ImportError:
        from sklearn.linear_model import LogisticRegression

        def order_of(dataset, vectors, labels, seed):
            return _stand_in_order(vectors, labels, seed)

        def probabilities_of(dataset, vectors, labels, seen, unseen):
            model = LogisticRegression(class_weight="balanced", solver="liblinear")
            model.fit(vectors[seen], labels[seen])
            return model.predict_proba(vectors[unseen])[:, 1]

        return "stand-in (LR on MiniLM, retrained every 10)", order_of, probabilities_of

    cache: dict[str, tuple] = {}

    def features_of(dataset, vectors):
        """The dataset's features as a project gets them and its question's inputs, built
        once per dataset (every seed and checkpoint reads them)."""
        if dataset.name not in cache:
            cache.clear()
            features = CorpusFeatures.build(dataset.texts, vectors, dataset.lexical)
            cache[dataset.name] = (features, question_inputs(dataset.name, features))
        return cache[dataset.name]

    def order_of(dataset, vectors, labels, seed):
        features, question = features_of(dataset, vectors)
        return np.asarray(replay(features, labels, seed, question).order)

    def probabilities_of(dataset, vectors, labels, seen, unseen):
        features, _ = features_of(dataset, vectors)
        model = RelevanceModel.from_setting(DEFAULT_SETTING)
        model.fit(features.subset(seen), labels[seen])
        return np.asarray(model.predict_proba(features.subset(unseen)))

    return f"classifier.simulate (retrain='fast', {DEFAULT_SETTING})", order_of, probabilities_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--reuse-orders", action="store_true")
    args = parser.parse_args()

    name, order_of, probabilities_of = _ranker()
    orders_file = OUT / "estimate_orders.json"
    orders = json.loads(orders_file.read_text()) if args.reuse_orders else {}
    print(f"ranking: {name}; level {args.level}\n")

    rows: list[dict] = []
    started = time.perf_counter()
    for path in sorted((args.data / "screening").glob("*.csv")):
        dataset, vectors = labeled_with_vectors(path, args.embeddings_cache)
        labels = dataset.labels.astype(np.int64)
        for seed in args.seeds:
            key = f"{name}|{dataset.name}/{seed}"
            if key not in orders:
                orders[key] = [int(i) for i in order_of(dataset, vectors, labels, seed)]
            order = np.asarray(orders[key])
            for fraction in FRACTIONS:
                n = round(fraction * len(labels))
                seen, unseen = order[:n], np.setdiff1d(np.arange(len(labels)), order[:n])
                truth = int(labels[unseen].sum())
                plain = estimate_remaining(labels[seen], len(unseen), level=args.level)
                probabilities = probabilities_of(dataset, vectors, labels, seen, unseen)
                informed = estimate_remaining(
                    labels[seen], len(unseen), level=args.level, probabilities=probabilities
                )
                rows.append(
                    {
                        "dataset": dataset.name,
                        "seed": seed,
                        "fraction": fraction,
                        "truth": truth,
                        **{
                            f"{tag}_{field}": getattr(estimate, field)
                            for tag, estimate in (("plain", plain), ("probs", informed))
                            for field in ("expected", "low", "high")
                        },
                    }
                )
    elapsed = time.perf_counter() - started
    OUT.mkdir(parents=True, exist_ok=True)
    orders_file.write_text(json.dumps(orders))
    (OUT / "estimate.json").write_text(json.dumps({"ranking": name, "rows": rows}, indent=1))

    def covers(row, tag):
        return row[f"{tag}_low"] <= row["truth"] <= row[f"{tag}_high"]

    table = [
        [
            row["dataset"].removeprefix("Cohen_2006_"),
            row["seed"],
            f"{row['fraction']:.0%}",
            row["truth"],
            f"{row['plain_expected']:.1f}",
            f"{row['plain_low']:.0f}–{row['plain_high']:.0f}",
            "yes" if covers(row, "plain") else "**no**",
            f"{row['probs_expected']:.1f}",
            f"{row['probs_low']:.0f}–{row['probs_high']:.0f}",
            "yes" if covers(row, "probs") else "**no**",
        ]
        for row in rows
    ]
    print(
        markdown_table(
            [
                "dataset",
                "seed",
                "screened",
                "truth",
                "estimate",
                "interval",
                "covers",
                "est. (+probs)",
                "interval (+probs)",
                "covers (+probs)",
            ],
            table,
        )
    )

    summary = []
    for label, subset in [
        *[(f"{f:.0%}", [r for r in rows if r["fraction"] == f]) for f in FRACTIONS],
        ("all", rows),
    ]:
        for tag, method in (("plain", "decisions only"), ("probs", "+ probabilities")):
            truth = np.array([r["truth"] for r in subset])
            expected = np.array([r[f"{tag}_expected"] for r in subset])
            widths = np.array([r[f"{tag}_high"] - r[f"{tag}_low"] for r in subset])
            summary.append(
                [
                    label,
                    method,
                    len(subset),
                    f"{np.mean([covers(r, tag) for r in subset]):.0%}",
                    f"{np.mean(np.abs(expected - truth)):.2f}",
                    f"{np.mean(expected - truth):+.2f}",
                    f"{np.mean(widths):.1f}",
                    f"{np.median(widths):.0f}",
                    f"{np.mean(truth):.2f}",
                ]
            )
    print()
    print(
        markdown_table(
            [
                "screened",
                "method",
                "runs",
                f"coverage ({args.level:.0%} stated)",
                "MAE",
                "mean error",
                "mean width",
                "median width",
                "mean truth",
            ],
            summary,
        )
    )
    print(f"\n{len(rows)} checkpoints in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
