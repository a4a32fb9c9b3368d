"""Stopping rules against the truth: does recall reach the target when a rule says stop, and how
much work does stopping there save?

Replays every dataset in ``--data``/screening with seeds 0, 1, 2 (the project's simulator,
``classifier.simulate.simulate(..., retrain="fast")``, default ranking with the review's
question from ``bench/questions.json``, priors drawn with the seed as ASReview draws them: one
include, one exclude), then walks the screening order and,
after every decision, asks each rule whether screening may stop; the first "yes" is where that
rule stops (a rule that never says so screens everything). Rules:

- ``buscar``: ``classifier.stopping.stopping_test`` (BUSCAR's hypergeometric test) at
  ``--target`` and ``--level``;
- ``excludes N``: N excludes in a row (50, 100, and 5 % of the corpus);
- ``estimate``: estimated recall (``classifier.estimate``) >= target, asked every 1 % of the
  corpus (its fit is the costly one) and at the end; ``estimate upper``: the same with the
  upper end of the estimate's 90 % interval as the number left;
- ``oracle``: the first moment recall truly reaches the target (what a perfect rule saves).

Recall counts every include, the prior one too; work saved = 1 - screened / records, priors
counted as screened.

    nice -n 10 .venv/bin/python -m bench.stopping [--data DIR] [--embeddings-cache FILE]
        [--seeds 0 1 2] [--target 0.95] [--level 0.95] [--reuse-orders]

Prints markdown tables (per dataset, then the summary); writes bench/out/stopping.json and
keeps the orders (bench/out/stopping_orders.json) and each run's stops
(bench/out/stopping_runs.json) for ``--reuse-orders``, which replays and scores only what is
missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
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
from classifier.stopping import consecutive_excludes_rule, estimate_rule, stopping_test
from index.records import LEXICAL_FEATURES

OUT = REPO / "bench" / "out"

Rule = Callable[[np.ndarray, int], bool]


def rules(n_records: int, target: float, level: float) -> list[tuple[str, Rule, int]]:
    """(name, rule, ask every this many decisions) for a corpus of ``n_records``."""
    share = max(1, math.ceil(0.05 * n_records))
    return [
        (
            "buscar",
            lambda labels, left: (
                stopping_test(labels, left, recall_target=target, level=level).may_stop
            ),
            1,
        ),
        ("excludes 50", lambda labels, left: consecutive_excludes_rule(labels, left, 50), 1),
        ("excludes 100", lambda labels, left: consecutive_excludes_rule(labels, left, 100), 1),
        (
            "excludes 5%",
            lambda labels, left: consecutive_excludes_rule(labels, left, share),
            1,
        ),
        (
            "estimate",
            lambda labels, left: estimate_rule(labels, left, target),
            max(1, n_records // 100),
        ),
        (
            "estimate upper",
            lambda labels, left: estimate_rule(labels, left, target, bound="upper"),
            max(1, n_records // 100),
        ),
    ]


def first_stop(labels_in_order: np.ndarray, start: int, rule: Rule, every: int) -> int:
    """How many records are screened when ``rule`` first says stop, asked after decision
    ``start`` and every ``every`` decisions after it (and always after the last)."""
    n = len(labels_in_order)
    for screened in range(start, n + 1):
        if (screened - start) % every and screened != n:
            continue
        if rule(labels_in_order[:screened], n - screened):
            return screened
    return n


def oracle_stop(labels_in_order: np.ndarray, target: float) -> int:
    """Records screened when recall first reaches ``target``."""
    needed = math.ceil(round(target * labels_in_order.sum(), 9))
    return int(np.searchsorted(np.cumsum(labels_in_order), needed)) + 1


def score_run(
    in_order: np.ndarray,
    dataset: str,
    seed: int,
    target: float,
    level: float,
    done: frozenset[str] = frozenset(),
) -> list[dict]:
    """One row per rule not in ``done``: where it stopped on this screening order, and the
    recall there."""
    total, n = int(in_order.sum()), len(in_order)
    stops = {"oracle": oracle_stop(in_order, target)}
    for name, rule, every in rules(n, target, level):
        if name not in done:
            stops[name] = first_stop(in_order, 2, rule, every)  # after the two priors
    stops = {name: screened for name, screened in stops.items() if name not in done}
    rows = []
    for name, screened in stops.items():
        recall = float(in_order[:screened].sum() / total)
        rows.append(
            {
                "dataset": dataset,
                "seed": seed,
                "rule": name,
                "records": n,
                "includes": total,
                "screened": screened,
                "recall": recall,
                "reached": recall >= target - 1e-12,
                "work_saved": 1.0 - screened / n,
            }
        )
    return rows


def _merge_into(path: Path, entries: dict) -> None:
    """Add ``entries`` to the JSON object in ``path``, keeping what another run of this script
    wrote there meanwhile (several may run at once, one dataset each)."""
    OUT.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(current | entries))
    temporary.replace(path)


def _order_key(dataset: str, seed: int) -> str:
    """A kept order's key: the default setting, the features it read, the dataset and seed, so
    that --reuse-orders never takes orders of another model or other features."""
    from classifier.relevance import DEFAULT_SETTING

    return f"{DEFAULT_SETTING}|{LEXICAL_FEATURES}|{dataset}/{seed}"


def _orders(args, datasets, seeds) -> dict[str, list[int]]:
    from classifier.features import CorpusFeatures

    orders_file = OUT / "stopping_orders.json"
    reuse = args.reuse_orders and orders_file.exists()
    orders = json.loads(orders_file.read_text()) if reuse else {}
    for path in datasets:
        missing = [s for s in seeds if _order_key(path.stem, s) not in orders]
        if not missing:
            continue
        dataset, vectors = labeled_with_vectors(path, args.embeddings_cache)
        features = CorpusFeatures.build(dataset.texts, vectors, dataset.lexical)
        labels = dataset.labels.astype(np.int64)
        question = question_inputs(path.stem, features)
        for seed in missing:
            run = replay(features, labels, seed, question)
            orders[_order_key(path.stem, seed)] = [int(i) for i in run.order]
            print(f"  replayed {path.stem} seed {seed} in {run.seconds:.1f} s", flush=True)
    _merge_into(orders_file, orders)
    return orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="*", help="file stems to run (default: all)")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--level", type=float, default=0.95)
    parser.add_argument("--reuse-orders", action="store_true")
    args = parser.parse_args()

    from index.datasets import read_labeled

    datasets = sorted((args.data / "screening").glob("*.csv"))
    if args.datasets:
        datasets = [p for p in datasets if p.stem in set(args.datasets)]
    started = time.perf_counter()
    orders = _orders(args, datasets, args.seeds)
    replayed = time.perf_counter() - started

    runs_file = OUT / "stopping_runs.json"
    runs = json.loads(runs_file.read_text()) if args.reuse_orders and runs_file.exists() else {}
    rows: list[dict] = []
    wanted = ["oracle", *(name for name, _, _ in rules(1, args.target, args.level))]
    for path in datasets:
        labels = read_labeled(path).labels.astype(np.int64)
        for seed in args.seeds:
            key = f"{_order_key(path.stem, seed)}|{args.target}|{args.level}"
            done = frozenset(row["rule"] for row in runs.get(key, []))
            if done != set(wanted):
                order = np.asarray(orders[_order_key(path.stem, seed)])
                new = score_run(labels[order], path.stem, seed, args.target, args.level, done)
                runs[key] = [row for row in runs.get(key, []) if row["rule"] in wanted] + new
                _merge_into(runs_file, {key: runs[key]})
            rows.extend(runs[key])
    names = wanted
    rows = sorted(rows, key=lambda row: wanted.index(row["rule"]))
    scored = time.perf_counter() - started - replayed
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "stopping.json").write_text(
        json.dumps({"target": args.target, "level": args.level, "rows": rows}, indent=1)
    )

    def cell(subset: list[dict]) -> str:
        reached = np.mean([r["reached"] for r in subset])
        saved = np.mean([r["work_saved"] for r in subset])
        recall = np.mean([r["recall"] for r in subset])
        return f"{reached:.0%} / {saved:.1%} / {recall:.3f}"

    per_dataset = []
    for path in datasets:
        first = next(r for r in rows if r["dataset"] == path.stem)
        per_dataset.append(
            [
                path.stem.removeprefix("Cohen_2006_"),
                first["records"],
                first["includes"],
                *[
                    cell([r for r in rows if r["dataset"] == path.stem and r["rule"] == name])
                    for name in names
                ],
            ]
        )
    print(
        f"\nrecall target {args.target:.0%}, confidence {args.level:.0%}; each cell: runs that "
        "reached the target / mean work saved / mean recall at stop\n"
    )
    print(markdown_table(["dataset", "records", "includes", *names], per_dataset))

    summary = []
    for name in names:
        subset = [r for r in rows if r["rule"] == name]
        summary.append(
            [
                name,
                len(subset),
                f"{np.mean([r['reached'] for r in subset]):.0%}",
                f"{np.mean([r['work_saved'] for r in subset]):.1%}",
                f"{np.mean([r['recall'] for r in subset]):.3f}",
                f"{np.min([r['recall'] for r in subset]):.3f}",
                sum(r["screened"] == r["records"] for r in subset),
            ]
        )
    print()
    print(
        markdown_table(
            [
                "rule",
                "runs",
                f"reached {args.target:.0%} recall",
                "mean work saved",
                "mean recall",
                "lowest recall",
                "never stopped",
            ],
            summary,
        )
    )
    print(f"\nreplay {replayed:.0f} s, rules {scored:.0f} s")


if __name__ == "__main__":
    main()
