"""Theme discovery on the Cohen drug-class theme set: do the proposed themes find the 13
review topics without being told how many there are?

    python -m bench.discovery [--data DIR] [--embeddings-cache FILE] [--methods ward,hdbscan]

The 2,016 records that passed title/abstract screening in 13 drug-class reviews are clustered
by ``classifier.discovery.cluster`` (each method choosing its own number of themes) and the
clusters compared with the reviews (each record's first review; 27 records belong to two) by
the adjusted Rand index and normalised mutual information, against the baseline the issue
names: k-means (scikit-learn, ``n_init=10``) told the true k = 13. The methods:

- ``ward``: Ward's agglomerative tree cut at the k (2-30) with the best mean cosine silhouette
  (the service's default, ``classifier.discovery.DEFAULT_METHOD``);
- ``hdbscan``: scikit-learn's HDBSCAN (cosine, min_cluster_size = 1 % of the records), k by
  density, its noise records given to the nearest cluster centre;
- ``kmeans``: k-means (``n_init=3``) at the k (2-30) with the best silhouette.

Also printed for the full ``discover_themes`` (overlapping membership on): records proposed
for two themes or more, and how many of the 27 two-review records are among them. Vectors come
from the shared embedding cache (only texts it lacks are embedded).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from bench._common import default_data_dir, default_embedding_cache, markdown_table
from classifier.discovery import METHODS, cluster, discover_themes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--embeddings-cache", type=Path, default=default_embedding_cache())
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--subset", type=int, default=300, help="records per random subset (0: no subsets)"
    )
    parser.add_argument("--draws", type=int, default=5, help="random subsets drawn")
    parser.add_argument(
        "--sizes",
        default="",
        help="comma-separated record counts: time discover_themes on that many records "
        "(drawn with replacement past 2,016, a little noise added) and print only that",
    )
    args = parser.parse_args(argv)

    from bench.themes import load_themes
    from index.corpus import embed_texts
    from index.embedder import Embedder
    from index.store import Store

    texts, themes, Y, first = load_themes(args.data / "themes" / "cohen_drug_classes.csv")
    store = Store(args.embeddings_cache)
    try:
        X = embed_texts(store, Embedder(), texts, progress=True)
    finally:
        store.close()
    true_k = len(themes)
    if args.sizes:
        _timing(X, texts, [int(n) for n in args.sizes.split(",")], args.seed)
        return

    rows = []
    start = time.perf_counter()
    baseline = KMeans(true_k, n_init=10, random_state=args.seed).fit_predict(X)
    rows.append(_row(f"k-means, true k = {true_k} (baseline)", baseline, first, start, "given"))
    for method in args.methods.split(","):
        start = time.perf_counter()
        labels, silhouette = cluster(X, method=method, seed=args.seed)  # type: ignore[arg-type]
        rows.append(_row(method, labels, first, start, silhouette))
    print(f"\n{len(texts)} records, {true_k} reviews (each record's first)\n")
    print(
        markdown_table(
            ["method", "k chosen", "ARI", "NMI", "silhouette", "seconds"],
            rows,
        )
    )

    _picks(X, texts, first, themes)
    if args.subset:
        _subsets(X, first, args.methods.split(","), args.subset, args.draws, args.seed)

    start = time.perf_counter()
    found = discover_themes(X, texts, seed=args.seed)
    seconds = time.perf_counter() - start
    in_themes = np.zeros(len(X), dtype=np.int64)
    for proposal in found.proposals:
        in_themes[proposal.members] += 1
    multi = Y.sum(axis=1) > 1
    print(
        f"\ndiscover_themes ({found.method}, overlap on): {found.k} proposals in {seconds:.1f} s;"
        f" {int(np.sum(in_themes > 1))} records proposed for 2+ themes, of which"
        f" {int(np.sum((in_themes > 1) & multi))} of the {int(multi.sum())} two-review records\n"
    )
    print(
        markdown_table(
            ["size", "+overlap", "distinctive terms", "largest review among its records"],
            [
                [
                    p.size,
                    p.overlapping,
                    ", ".join(term for term, _ in p.terms[:5]),
                    _majority(first[found.labels == p.index], themes),
                ]
                for p in found.proposals
            ],
        )
    )


def _subsets(
    X: np.ndarray, truth: np.ndarray, methods: list[str], size: int, draws: int, seed: int
) -> None:
    """Mean ARI and NMI over random subsets of ``size`` records: a review's included
    records are hundreds, not thousands."""
    rng = np.random.default_rng(seed)
    samples = [rng.choice(len(X), size, replace=False) for _ in range(draws)]
    rows = []
    for method in ["k-means, true k", *methods]:
        ari, nmi, ks = [], [], []
        for rows_ in samples:
            true_k = len(np.unique(truth[rows_]))
            if method == "k-means, true k":
                labels = KMeans(true_k, n_init=10, random_state=seed).fit_predict(X[rows_])
            else:
                labels, _ = cluster(X[rows_], method=method, seed=seed)  # type: ignore[arg-type]
            ari.append(adjusted_rand_score(truth[rows_], labels))
            nmi.append(normalized_mutual_info_score(truth[rows_], labels))
            ks.append(len(np.unique(labels)))
        rows.append([method, f"{min(ks)}-{max(ks)}", f"{np.mean(ari):.3f}", f"{np.mean(nmi):.3f}"])
    print(f"\n{draws} random subsets of {size} records (each has all 13 reviews or nearly)\n")
    print(markdown_table(["method", "k chosen", "mean ARI", "mean NMI"], rows))


def _picks(X: np.ndarray, texts: list[str], truth: np.ndarray, themes: list[str]) -> None:
    """Five picks per review (its records as one theme): MMR (the service's), MMR with
    reviews first, and the five records nearest the centre, by mean cosine to the centre
    (representative) and mean cosine between the picks (lower: more varied)."""
    from classifier.picks import is_review, pick_representatives

    reviews = is_review(texts)
    sums = {name: np.zeros(3) for name in ("nearest the centre", "MMR", "MMR, reviews first")}
    for t in range(len(themes)):
        rows = np.flatnonzero(truth == t)
        Xt = X[rows] / np.linalg.norm(X[rows], axis=1, keepdims=True)
        centre = Xt.mean(axis=0)
        centre /= np.linalg.norm(centre)
        central = Xt @ centre
        chosen = {
            "nearest the centre": np.argsort(-central, kind="stable")[:5],
            "MMR": [p.row for p in pick_representatives(Xt, 5)],
            "MMR, reviews first": [
                p.row
                for p in pick_representatives(Xt, 5, reviews=reviews[rows], reviews_first=True)
            ],
        }
        for name, picked in chosen.items():
            picked = np.asarray(picked)
            pair = Xt[picked] @ Xt[picked].T
            off = pair[~np.eye(len(picked), dtype=bool)]
            sums[name] += [central[picked].mean(), off.mean(), reviews[rows][picked].sum()]
    n = len(themes)
    print(
        f"\n5 picks per review, mean over the {n} reviews ({int(reviews.sum())} records are "
        "reviews by their title or abstract)\n"
    )
    print(
        markdown_table(
            ["picks", "cosine to centre", "cosine between picks", "reviews among 5"],
            [[k, f"{v[0] / n:.3f}", f"{v[1] / n:.3f}", f"{v[2] / n:.1f}"] for k, v in sums.items()],
        )
    )


def _timing(X: np.ndarray, texts: list[str], sizes: list[int], seed: int) -> None:
    """Seconds and peak memory of ``discover_themes`` (what a proposals request runs)."""
    from bench._common import peak_rss_mib

    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        picked = rng.choice(len(X), n, replace=n > len(X))
        Xn = X[picked] + rng.normal(0, 0.01, (n, X.shape[1])).astype(np.float32)
        start = time.perf_counter()
        found = discover_themes(Xn, [texts[i] for i in picked], seed=seed)
        seconds = time.perf_counter() - start
        rows.append([n, found.k, f"{seconds:.1f}", f"{peak_rss_mib():.0f}"])
    print(markdown_table(["records", "k", "seconds", "peak MiB (process)"], rows))


def _row(name: str, labels: np.ndarray, truth: np.ndarray, start: float, silhouette) -> list:
    seconds = time.perf_counter() - start
    return [
        name,
        len(np.unique(labels)),
        f"{adjusted_rand_score(truth, labels):.3f}",
        f"{normalized_mutual_info_score(truth, labels):.3f}",
        silhouette if isinstance(silhouette, str) or silhouette is None else f"{silhouette:.3f}",
        f"{seconds:.1f}",
    ]


def _majority(truth: np.ndarray, themes: list[str]) -> str:
    values, counts = np.unique(truth, return_counts=True)
    top = int(np.argmax(counts))
    return f"{themes[values[top]]} ({counts[top] / len(truth):.0%})"


if __name__ == "__main__":
    main()
