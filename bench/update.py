"""Review updates: train on a review's earlier years, rank its later records.

For each dataset in ``--data``/screening the records with a publication year are split at a
year: the *earlier* ones (before the cutoff, about the first ``1 - --later`` of them) stand for
the review already screened, the *later* ones for the hits of an update search. A relevance
model is trained on every earlier record's label, the later records get features in the
earlier records' TF-IDF vocabulary (as ``candidates`` builds them: ``CorpusFeatures.transform``)
and are ranked once, without further feedback; the screening metrics of that order are
ASReview's (``classifier.metrics``; all later records count, none is a prior). Rankers:

- ``queue``: the default setting's ``ranking_scores``, the queue's own order, with the later
  records' question signal (the review's question from ``bench/questions.json``, scored
  against the earlier records as ``candidates`` scores an update's hits): what
  ``POST .../themes/candidates`` sorts by;
- ``queue, no question``: the same without the question signal (a project without one);
- ``candidates``: the default setting's ``predict_proba`` (the TF-IDF logistic alone), what
  ``candidates`` sorted by before issue 14;
- ``u4``: ASReview's elas_u4 (``ranking_scores`` of the ``u4`` setting), trained the same way.

    nice -n 10 .venv/bin/python -m bench.update [--data DIR] [--embeddings-cache FILE]
        [--later 0.3]

Prints markdown tables (per dataset, then the means) and writes bench/out/update.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench._common import (
    REPO,
    default_data_dir,
    default_embedding_cache,
    labeled_with_vectors,
    markdown_table,
    question_vector,
)
from classifier.features import CorpusFeatures
from classifier.metrics import screening_metrics
from classifier.question import corpus_question_signal, question_signal
from classifier.relevance import DEFAULT_SETTING, RelevanceModel

OUT = REPO / "bench" / "out"
METRICS = ("loss", "wss95", "rrf10")


def years_of(path: Path) -> np.ndarray:
    """Each record's publication year (file order), ``-1`` where there is none."""
    from index.readers import read_records

    return np.array([record.year or -1 for record in read_records(path)], dtype=np.int64)


def split(years: np.ndarray, later: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(earlier rows, later rows, cutoff year): the later rows are those published in or after
    the cutoff, the latest year that leaves at least ``later`` of the dated records on that
    side. Records without a year are in neither."""
    dated = np.flatnonzero(years >= 0)
    cutoff = int(np.quantile(years[dated], 1.0 - later, method="lower"))
    return dated[years[dated] < cutoff], dated[years[dated] >= cutoff], cutoff


def rank(scores: np.ndarray) -> np.ndarray:
    """Positions, best first, ties to the earlier row."""
    return np.argsort(-np.asarray(scores), kind="stable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--later", type=float, default=0.3)
    parser.add_argument("--datasets", nargs="*", help="file stems to run (default: all)")
    args = parser.parse_args()

    rows: list[dict] = []
    paths = sorted((args.data / "screening").glob("*.csv"))
    for path in [p for p in paths if not args.datasets or p.stem in args.datasets]:
        dataset, vectors = labeled_with_vectors(path, args.embeddings_cache)
        labels = dataset.labels.astype(np.int64)
        earlier, later, cutoff = split(years_of(path), args.later)
        if labels[later].sum() == 0 or len(set(labels[earlier])) < 2:
            print(f"  {path.stem}: skipped (a side without both classes)")
            continue
        texts, lexical = dataset.texts, dataset.lexical
        train = CorpusFeatures.build(
            [texts[i] for i in earlier], vectors[earlier], [lexical[i] for i in earlier]
        )
        test = train.transform(
            [texts[i] for i in later], vectors[later], [lexical[i] for i in later]
        )
        default = RelevanceModel.from_setting(DEFAULT_SETTING).fit(train, labels[earlier])
        u4 = RelevanceModel.from_setting("u4").fit(train, labels[earlier])
        text, vector = question_vector(path.stem)
        signal = None
        if text:
            reference = corpus_question_signal(train, text, vector)[1]
            signal = question_signal(test, text, vector, reference=reference)
        scores = {
            "queue": default.ranking_scores(test, signal),
            "noq": default.ranking_scores(test),
            "candidates": default.predict_proba(test),
            "u4": u4.ranking_scores(test),
        }
        row = {
            "dataset": path.stem,
            "cutoff": cutoff,
            "earlier": len(earlier),
            "earlier_includes": int(labels[earlier].sum()),
            "later": len(later),
            "later_includes": int(labels[later].sum()),
        }
        for name, values in scores.items():
            metrics = screening_metrics(labels[later][rank(values)])
            row |= {f"{name}_{metric}": metrics[metric] for metric in METRICS}
        rows.append(row)
        print(f"  {path.stem}: cutoff {cutoff}, {len(earlier)} -> {len(later)}", flush=True)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "update.json").write_text(json.dumps({"later": args.later, "rows": rows}, indent=1))
    rankers = ("queue", "noq", "candidates", "u4")
    print(
        f"\nearlier years train, later years ranked (later = the latest ~{args.later:.0%} of "
        "dated records); loss lower is better\n"
    )
    table = [
        [
            row["dataset"].removeprefix("Cohen_2006_"),
            row["cutoff"],
            f"{row['earlier']} ({row['earlier_includes']})",
            f"{row['later']} ({row['later_includes']})",
            *[
                f"{row[f'{name}_loss']:.3f}"
                if metric == "loss"
                else f"{row[f'{name}_{metric}']:.1f}"
                for metric in METRICS
                for name in rankers
            ],
        ]
        for row in rows
    ]
    headers = [
        "dataset",
        "cutoff",
        "earlier (incl.)",
        "later (incl.)",
        *[f"{metric} {name}" for metric in METRICS for name in rankers],
    ]
    means = [
        "**mean**",
        "",
        "",
        "",
        *[
            f"{np.mean([r[f'{name}_{metric}'] for r in rows]):.{3 if metric == 'loss' else 1}f}"
            for metric in METRICS
            for name in rankers
        ],
    ]
    print(markdown_table(headers, [*table, means]))
    wins = sum(r["queue_loss"] < r["u4_loss"] for r in rows)
    print(f"\nqueue beats u4 on loss in {wins} of {len(rows)} datasets")


if __name__ == "__main__":
    main()
