"""How long the ranked queue takes to follow a decision: retrain plus re-rank, at 2k/10k/100k.

After decisions the service's background refit fits the relevance model on every labelled
record and re-ranks the rest. This times exactly that, through the same functions:
``classifier.ranking.fit_relevance`` + ``pool_scores`` + ``rank``, for ``N`` records of which
``L`` are labelled, single-threaded and with 2 threads (threadpoolctl), p50 and p95 over repeats.

Records are the real ones of every dataset in ``--data``/screening (about 14,400): the first
``N`` of them with TF-IDF fitted on those, and for 100,000 all of them tiled: their TF-IDF rows
as they are, their embeddings with a little Gaussian noise, renormalised. The labelled rows are
drawn at random with at least 10 % includes, as a review that has screened from the top of its
queue has. Targets (issue 3): 0.2 s at 10,000 records, 2 s at 100,000.

    .venv/bin/python -m bench.queue_timing [--data DIR] [--embeddings-cache FILE] [--repeats 10]
        [--setting NAME] [--cases 10000:1000 ...]

A setting that reads the question gets a question signal (BM25 + cosine to a question vector,
computed once per corpus as the service caches it, not timed per update) and the labelled
records a random decision order (the tail phase and adaptive weights read it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from bench._common import (
    REPO,
    default_data_dir,
    default_embedding_cache,
    labeled_with_vectors,
    markdown_table,
)
from classifier.features import CorpusFeatures
from classifier.question import question_signal
from classifier.ranking import fit_relevance, pool_scores, rank
from classifier.relevance import DEFAULT_SETTING, RelevanceModel

QUESTION = (
    "What is the comparative effectiveness and safety of drugs for attention deficit "
    "hyperactivity disorder in children and adults? Include randomized controlled trials."
)

CASES = [(2_000, 100), (2_000, 1_000), (10_000, 100), (10_000, 1_000), (10_000, 5_000)]
CASES += [(100_000, 100), (100_000, 1_000), (100_000, 5_000)]
TARGETS = {10_000: 0.2, 100_000: 2.0}
STAGES = ("subset", "fit", "score", "rank")


def _corpus(data: Path, cache: Path) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """(texts, lexical texts, vectors, labels) of every screening dataset, in order."""
    texts: list[str] = []
    lexical: list[str] = []
    vectors, labels = [], []
    for path in sorted((data / "screening").glob("*.csv")):
        dataset, dataset_vectors = labeled_with_vectors(path, cache)
        texts += dataset.texts
        lexical += dataset.lexical  # what the relevance TF-IDF reads
        vectors.append(dataset_vectors)
        labels.append(dataset.labels)
    vectors = np.concatenate(vectors)
    return texts, lexical, vectors, np.concatenate(labels).astype(np.int64)


def _features_of(
    texts: list[str],
    base: CorpusFeatures,
    base_labels: np.ndarray,
    n: int,
    rng: np.random.Generator,
    lexical: list[str] | None = None,
) -> tuple[CorpusFeatures, np.ndarray]:
    """The first ``n`` real records with TF-IDF fitted on them (the vocabulary a review of
    that size has; ``lexical``: what its relevance TF-IDF reads), or all the real records tiled up
    to ``n``."""
    if n <= len(base):
        features = CorpusFeatures.build(
            texts[:n], base.vectors[:n], lexical[:n] if lexical is not None else None
        )
        return features, base_labels[:n]
    copies = -(-n // len(base))
    tfidf = sp.vstack([base.tfidf] * copies, format="csr")[:n]
    vectors = np.tile(base.vectors, (copies, 1))[:n]
    vectors = vectors + rng.normal(0.0, 0.01, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return CorpusFeatures(tfidf, vectors, base.vectorizer), np.tile(base_labels, copies)[:n]


def _labelled_rows(labels: np.ndarray, n_labelled: int, rng: np.random.Generator) -> np.ndarray:
    rows = rng.choice(len(labels), n_labelled, replace=False)
    wanted = max(2, n_labelled // 10) - int(labels[rows].sum())
    if wanted > 0:
        spare = np.setdiff1d(np.flatnonzero(labels == 1), rows)
        swap = rng.choice(np.flatnonzero(labels[rows] == 0), wanted, replace=False)
        rows[swap] = rng.choice(spare, wanted, replace=False)
    return np.sort(rows)


def _one_update(
    features: CorpusFeatures,
    labels: np.ndarray,
    ids: np.ndarray,
    labelled: np.ndarray,
    setting: str = DEFAULT_SETTING,
    order: np.ndarray | None = None,
    question: np.ndarray | None = None,
) -> dict[str, float]:
    """One retrain plus re-rank through the service's own functions (``classifier.ranking``),
    timed stage by stage: ``subset`` finds the pool, ``fit`` is ``fit_relevance`` (taking the
    labelled rows and fitting), ``score`` is ``pool_scores`` (taking the pool and scoring it)."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    unlabelled = np.setdiff1d(np.arange(len(labels)), labelled)
    times["subset"] = time.perf_counter() - start

    mark = time.perf_counter()
    y = labels[labelled]
    model = fit_relevance(features, labelled, y, setting, order=order, question=question)
    times["fit"] = time.perf_counter() - mark

    mark = time.perf_counter()
    scores = pool_scores(
        features, unlabelled, model=model, include_rows=labelled[y == 1], question=question
    ).scores
    times["score"] = time.perf_counter() - mark

    mark = time.perf_counter()
    queue = rank(scores, ids[unlabelled])
    times["rank"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    assert len(queue) == len(unlabelled)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--setting", default=DEFAULT_SETTING)
    parser.add_argument(
        "--cases", nargs="+", default=None, help="records:labelled pairs (default: all)"
    )
    args = parser.parse_args()
    cases = [tuple(int(x) for x in case.split(":")) for case in args.cases] if args.cases else CASES
    uses_question = RelevanceModel.from_setting(args.setting).question_weight > 0

    rng = np.random.default_rng(0)
    texts, lexical, vectors, labels = _corpus(args.data, args.embeddings_cache)
    started = time.perf_counter()
    base = CorpusFeatures.build(texts, vectors, lexical)
    print(
        f"{len(texts)} real records, TF-IDF {base.tfidf.shape[1]} terms "
        f"(built in {time.perf_counter() - started:.1f} s); setting {args.setting}\n"
    )

    rows, breakdown, results = [], [], []
    for n, n_labelled in cases:
        features, case_labels = _features_of(texts, base, labels, n, rng, lexical)
        ids = np.arange(n, dtype=np.int64)
        labelled = _labelled_rows(case_labels, n_labelled, rng)
        order = np.random.default_rng(n_labelled).permutation(len(labelled))
        question = None
        if uses_question:
            mark = time.perf_counter()
            question = question_signal(features, QUESTION, features.vectors[0])
            print(f"  question signal: {time.perf_counter() - mark:.3f} s (once per corpus)")
        print(f"  N={n}: TF-IDF {features.tfidf.shape[1]} terms", flush=True)
        for threads in (1, 2):
            with threadpool_limits(limits=threads):
                update = (features, case_labels, ids, labelled, args.setting, order, question)
                _one_update(*update)  # warm-up
                runs = [_one_update(*update) for _ in range(args.repeats)]
            totals = np.array([run["total"] for run in runs])
            p50, p95 = np.percentile(totals, 50), np.percentile(totals, 95)
            target = TARGETS.get(n)
            verdict = "–" if target is None else ("yes" if p95 <= target else "**no**")
            cells = [f"{n:,}", f"{n_labelled:,}", threads, f"{p50:.3f}", f"{p95:.3f}"]
            rows.append([*cells, target or "–", verdict])
            medians = {stage: float(np.median([run[stage] for run in runs])) for stage in STAGES}
            breakdown.append(
                [f"{n:,}", f"{n_labelled:,}", threads]
                + [f"{medians[stage] * 1000:.1f}" for stage in STAGES]
            )
            results.append(
                {"n": n, "labelled": n_labelled, "threads": threads, "totals": totals.tolist()}
                | {f"median_{stage}": medians[stage] for stage in STAGES}
            )
            print(f"  N={n} L={n_labelled} threads={threads}: p50 {p50:.3f} s", flush=True)

    print()
    print(
        markdown_table(
            ["records", "labelled", "threads", "p50 s", "p95 s", "target s", "p95 within"], rows
        )
    )
    print("\nWhere the time goes (median ms per stage):\n")
    print(markdown_table(["records", "labelled", "threads", *STAGES], breakdown))
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "queue_timing.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
