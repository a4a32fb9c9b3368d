"""When is a theme worth suggesting? Precision and recall of "suggested" at probability
thresholds, and an open-set check, for the theme model as the service fits it.

    nice -n 10 python -m bench.theme_threshold [--data DIR] [--embeddings-cache FILE]

The service (``webapi.models.ScreeningSuite``) suggests a theme to the reviewer when its
probability reaches a threshold; a suggestion is only shown, never stored, until the reviewer
accepts it. A suggestion that is wrong costs the reviewer a look (and, accepted by habit, a
wrong label), so suggestions should be right most of the time, and "no theme fits" must be a
normal outcome. This script measures, on the Cohen drug-class theme set
(``themes/cohen_drug_classes.csv``, 2,016 records, 13 themes, names and descriptions from
``bench/theme_descriptions.json``), through ``ScreeningSuite.features`` / ``fit`` /
``theme_scores`` (the service's code path, the whole corpus passed as it passes it):

1. Closed set, 5-fold cross-validation (stratified on each record's first theme, fixed seed):
   for labeled sets of 0 (zero-shot), 5 and 20 records per theme and the full training folds
   (``--settings``), per threshold: precision (share of suggested record-theme pairs that are
   right), recall (share of the test records' themes that were suggested) and coverage (share
   of test records with at least one suggestion).
2. Open set: each theme in turn is left out of the project entirely (its records stay in the
   corpus, unlabeled); with 0 (zero-shot) and 10 labeled records per remaining theme
   (``--open-set-labels``), the share of the left-out theme's records that get any suggestion
   at each threshold (every one of them wrong: no theme of the project fits), and the precision
   on the other records, averaged over the 13 themes.

With labels, the chosen threshold is the lowest at which suggestions are right at least
``--precision`` of the time in every labeled setting of table 1 and at most ``--open-set`` of
the left-out records get one; for zero-shot the same with ``--zero-shot-precision``. Both are
printed last ("None": no threshold qualifies).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from bench._common import REPO, default_data_dir, default_embedding_cache, markdown_table
from bench.themes import embedded_themes, per_theme_sample

DESCRIPTIONS = REPO / "bench" / "theme_descriptions.json"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SETTINGS = (0, 5, 20, None)  # labeled records per theme; None: the full training folds


def suite_scores(suite, corpus, labeled: np.ndarray, Y: np.ndarray, test: np.ndarray, text):
    """Theme probabilities of the ``test`` rows after fitting on the ``labeled`` rows, the
    whole corpus passed as the service passes it."""
    fitted = suite.fit(
        suite.take(corpus, np.zeros(0, dtype=np.int64)),
        np.zeros(0, dtype=np.int64),
        suite.take(corpus, labeled),
        Y[labeled],
        text[0],
        corpus=corpus,
        theme_text=text,
    )
    return suite.theme_scores(fitted, suite.take(corpus, test))


def rates(proba: np.ndarray, Y: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """Precision, recall and coverage of "suggested" (probability >= threshold)."""
    suggested = proba >= threshold
    truth = Y > 0
    hits = (suggested & truth).sum()
    precision = hits / suggested.sum() if suggested.sum() else float("nan")
    return float(precision), float(hits / truth.sum()), float(suggested.any(axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--descriptions", type=Path, default=DESCRIPTIONS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", type=float, default=0.9, help="precision to reach")
    parser.add_argument(
        "--zero-shot-precision",
        type=float,
        default=0.8,
        help="precision to reach before any label (the model has only the themes' text)",
    )
    parser.add_argument(
        "--open-set", type=float, default=0.1, help="most left-out records with a suggestion"
    )
    parser.add_argument(
        "--settings",
        default="0,5,20,full",
        help="closed-set settings to run: labeled records per theme, 'full' for the folds",
    )
    parser.add_argument(
        "--open-set-labels",
        default="0,10",
        help="labeled records per remaining theme in the open-set check (0: zero-shot)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    from webapi.models import ScreeningSuite

    texts, themes, Y, first, X, spec, embedder = embedded_themes(
        args.data, args.embeddings_cache, args.descriptions
    )
    names = np.stack([embedder.encode_query(spec[t]["name"]) for t in themes])
    descs = np.stack([embedder.encode_query(spec[t]["description"]) for t in themes])
    suite = ScreeningSuite()
    corpus = suite.features(X, texts)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=args.seed).split(X, first))
    rng = np.random.default_rng(args.seed)

    # 1. closed set
    closed: dict[str, dict[float, tuple[float, float, float]]] = {}
    chosen_settings = [
        None if part == "full" else int(part) for part in args.settings.split(",") if part
    ]
    for per_theme in [setting for setting in SETTINGS if setting in chosen_settings]:
        label = {0: "zero-shot", None: "full folds"}.get(per_theme, f"{per_theme} per theme")
        probas, truths = [], []
        for train, test in folds:
            if per_theme is None:
                labeled = train
            elif per_theme == 0:
                labeled = np.zeros(0, dtype=np.int64)
            else:
                labeled = per_theme_sample(Y, train, per_theme, rng)
            probas.append(suite_scores(suite, corpus, labeled, Y, test, (names, descs)))
            truths.append(Y[test])
            if per_theme == 0:
                break  # no labels: every fold gives the same model
        proba, truth = np.vstack(probas), np.vstack(truths)
        closed[label] = {t: rates(proba, truth, t) for t in THRESHOLDS}
        print(f"{label}: done", flush=True)

    # 2. open set: one theme left out of the project at a time
    open_set: dict[int, dict[float, list[float]]] = {}
    kept_precision: dict[int, dict[float, list[float]]] = {}
    for labels_per_theme in [int(n) for n in args.open_set_labels.split(",") if n]:
        out_rates = open_set[labels_per_theme] = {t: [] for t in THRESHOLDS}
        in_rates = kept_precision[labels_per_theme] = {t: [] for t in THRESHOLDS}
        for h in range(len(themes)):
            keep = np.array([t for t in range(len(themes)) if t != h])
            outside = np.flatnonzero((Y[:, h] > 0) & (Y[:, keep].sum(axis=1) == 0))
            inside = np.flatnonzero(Y[:, keep].sum(axis=1) > 0)
            labeled = np.zeros(0, dtype=np.int64)
            if labels_per_theme:
                labeled = per_theme_sample(Y[:, keep], inside, labels_per_theme, rng)
            test_inside = np.setdiff1d(inside, labeled)
            text = (names[keep], descs[keep])
            sub_Y = Y[:, keep]
            proba_out = suite_scores(suite, corpus, labeled, sub_Y, outside, text)
            proba_in = suite_scores(suite, corpus, labeled, sub_Y, test_inside, text)
            for t in THRESHOLDS:
                out_rates[t].append(float((proba_out >= t).any(axis=1).mean()))
                in_rates[t].append(rates(proba_in, sub_Y[test_inside], t)[0])
        print(f"open set, {labels_per_theme} labeled per theme: done", flush=True)
    print()

    print(f"## Closed set: precision / recall / coverage of suggestions ({len(X)} records)\n")
    print(
        markdown_table(
            ["labeled", *(f"p >= {t}" for t in THRESHOLDS)],
            [
                [label, *(f"{p:.2f} / {r:.2f} / {c:.2f}" for p, r, c in row.values())]
                for label, row in closed.items()
            ],
        )
    )
    print(
        "\n## Open set: one theme left out, mean of 13: left-out records with a suggestion"
        " / precision on the other themes' records\n"
    )
    print(
        markdown_table(
            ["labeled per remaining theme", *(f"p >= {t}" for t in THRESHOLDS)],
            [
                [
                    "zero-shot" if n == 0 else str(n),
                    *(
                        f"{np.mean(open_set[n][t]):.2f} / {np.nanmean(kept_precision[n][t]):.2f}"
                        for t in THRESHOLDS
                    ),
                ]
                for n in open_set
            ],
        )
    )

    def lowest(settings: list[str], open_rows: list[int], precision: float) -> float | None:
        return next(
            (
                t
                for t in THRESHOLDS
                if all(closed[label][t][0] >= precision for label in settings)
                and all(np.mean(open_set[n][t]) <= args.open_set for n in open_rows)
            ),
            None,
        )

    labeled_settings = [label for label in closed if label != "zero-shot"]
    labeled_open = [n for n in open_set if n > 0]
    if labeled_settings:
        print(
            f"\nWith labels: lowest threshold with precision >= {args.precision} and left-out"
            f" records with a suggestion <= {args.open_set}: "
            f"{lowest(labeled_settings, labeled_open, args.precision)}"
        )
    if "zero-shot" in closed:
        print(
            f"Zero-shot: lowest threshold with precision >= {args.zero_shot_precision} and "
            f"left-out records with a suggestion <= {args.open_set}: "
            f"{lowest(['zero-shot'], [0] if 0 in open_set else [], args.zero_shot_precision)}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        results = {
            "closed": {k: {str(t): v for t, v in row.items()} for k, row in closed.items()},
            "open_set": {
                str(n): {str(t): float(np.mean(v)) for t, v in row.items()}
                for n, row in open_set.items()
            },
        }
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
