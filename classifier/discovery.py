"""Theme discovery: candidate themes proposed from a set of records' embeddings.

``discover_themes(X, texts)`` clusters the L2-normalised embeddings and describes each cluster
for a review team to judge:

- **clusters**: Ward's agglomerative clustering (scipy's linkage, the tree built once), cut at
  the number of clusters with the best mean silhouette (cosine) between ``min_k`` and
  ``max_k`` (at most the square root of the records); the number of themes is the
  method's choice, not given. ``bench/discovery.py`` chose it over HDBSCAN and k-means with
  the silhouette (and it beat k-means told the true k) on the Cohen drug-class set: best NMI
  on the whole set, best ARI and NMI on sets of 300 records, the size of an included set.
- **distinctive terms**: class-based TF-IDF (c-TF-IDF, as BERTopic's): a term's frequency in
  the cluster's texts taken together, times log(1 + average words per cluster / the term's
  frequency over all clusters); words in two records or more, English stop words left out.
- **representative titles**: the members nearest the cluster's centre (cosine).
- **overlapping membership**: a record belongs to its own cluster and to any other whose
  centre is within ``overlap`` (cosine) of its nearest centre's and at least
  ``min_similarity``: a record between two themes is proposed for both.

Numpy in, numpy out; row numbers of ``X`` are the ids here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Method = Literal["ward", "hdbscan", "kmeans"]
METHODS: tuple[str, ...] = ("ward", "hdbscan", "kmeans")
DEFAULT_METHOD: Method = "ward"
MIN_RECORDS = 6  # fewer records than this cannot make two clusters worth proposing
MAX_K = 30
N_TERMS = 8
N_TITLES = 5
OVERLAP = 0.03
MIN_SIMILARITY = 0.5
# Terms in more of the records than the largest cluster's share plus this are left out.
MAX_DF_MARGIN = 0.05
# The silhouette is computed on at most this many rows (a fixed sample past it): its cost is
# quadratic in the rows.
SILHOUETTE_SAMPLE = 2000


@dataclass
class Proposal:
    """One candidate theme: its rows (``members``: own cluster and overlapping ones, best
    first), how close each is to the theme's centre, distinctive terms with their c-TF-IDF
    weight, and the rows of its most representative records."""

    index: int
    size: int  # records whose nearest cluster this is
    members: np.ndarray  # rows, nearest the centre first (overlapping records included)
    similarity: np.ndarray  # cosine of each member to the centre
    terms: list[tuple[str, float]]
    representatives: np.ndarray  # rows of the N_TITLES members nearest the centre
    centre: np.ndarray = field(repr=False)

    @property
    def overlapping(self) -> int:
        """Members from other clusters (soft membership)."""
        return int(len(self.members) - self.size)

    def name(self, n: int = 3) -> str:
        """A suggested name: the first ``n`` distinctive terms."""
        return ", ".join(term for term, _ in self.terms[:n]) or f"theme {self.index + 1}"

    def description(self) -> str:
        """A suggested description from the distinctive terms (editable once accepted)."""
        terms = ", ".join(term for term, _ in self.terms)
        return f"Records about {terms}." if terms else ""


@dataclass
class Discovery:
    """What ``discover_themes`` found: the proposals (largest first), each row's cluster
    (``labels``, -1 for none) and the number of clusters chosen with its silhouette."""

    proposals: list[Proposal]
    labels: np.ndarray
    k: int
    silhouette: float | None
    method: str


def cluster(
    X: np.ndarray,
    *,
    method: Method = DEFAULT_METHOD,
    min_k: int = 2,
    max_k: int = MAX_K,
    seed: int = 0,
) -> tuple[np.ndarray, float | None]:
    """Hard cluster labels for the rows of ``X`` (0..k-1, every row labelled) and the mean
    silhouette of the chosen cut (``None`` for HDBSCAN, which chooses k by density: its noise
    rows go to the nearest cluster centre)."""
    X = _checked(X)
    n = len(X)
    if method == "hdbscan":
        return _hdbscan(X), None
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    # No more themes than about the square root of the records: a team cannot use 16
    # themes of 3 records each in 50 included ones, and the silhouette on few records tends
    # to favour many small clusters.
    max_k = max(min(max_k, n // 3, math.ceil(math.sqrt(n))), 2)
    min_k = min(max(min_k, 2), max_k)
    from sklearn.metrics import silhouette_score

    # The silhouette of every cut over one sample's cosine distances, computed once.
    rng = np.random.default_rng(seed)
    sample = (
        np.sort(rng.choice(n, SILHOUETTE_SAMPLE, replace=False)) if n > SILHOUETTE_SAMPLE else None
    )
    S = X if sample is None else X[sample]
    distances = np.clip(1.0 - S @ S.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    best: tuple[float, np.ndarray] | None = None
    cuts = _ward_cuts(X, range(min_k, max_k + 1)) if method == "ward" else None
    for k in range(min_k, max_k + 1):
        if cuts is not None:
            labels = cuts[k]
        else:
            from sklearn.cluster import KMeans

            labels = KMeans(k, n_init=3, random_state=seed).fit_predict(X)
        sampled = labels if sample is None else labels[sample]
        if not 2 <= len(np.unique(sampled)) < len(sampled):
            continue
        score = float(silhouette_score(distances, sampled, metric="precomputed"))
        if best is None or score > best[0]:
            best = (score, labels)
    if best is None:
        return np.zeros(n, dtype=np.int64), None
    return _relabelled(best[1]), best[0]


def discover_themes(
    X: np.ndarray,
    texts: list[str],
    *,
    method: Method = DEFAULT_METHOD,
    min_k: int = 2,
    max_k: int = MAX_K,
    overlap: float = OVERLAP,
    min_similarity: float = MIN_SIMILARITY,
    n_terms: int = N_TERMS,
    n_titles: int = N_TITLES,
    seed: int = 0,
) -> Discovery:
    """Candidate themes for the records whose embeddings are the rows of ``X`` and whose
    title + abstract are ``texts`` (same order). Raises ``ValueError`` for fewer than
    ``MIN_RECORDS`` rows or a ``texts`` of another length."""
    X = _checked(X)
    if len(texts) != len(X):
        raise ValueError(f"texts has {len(texts)} entries for {len(X)} rows of X")
    labels, silhouette = cluster(X, method=method, min_k=min_k, max_k=max_k, seed=seed)
    k = int(labels.max()) + 1
    centres = _centres(X, labels, k)
    terms = distinctive_terms(texts, labels, k, n_terms=n_terms)
    sims = X @ centres.T  # (n, k): only k columns, linear in the rows
    best = sims.max(axis=1, keepdims=True)
    soft = (sims >= best - overlap) & (sims >= min_similarity)
    soft[np.arange(len(X)), labels] = True
    proposals = []
    for c in range(k):
        rows = np.flatnonzero(soft[:, c])
        order = np.argsort(-sims[rows, c], kind="stable")
        rows = rows[order]
        own = rows[labels[rows] == c]
        proposals.append(
            Proposal(
                index=c,
                size=int(np.sum(labels == c)),
                members=rows,
                similarity=sims[rows, c].astype(np.float32),
                terms=terms[c],
                representatives=own[:n_titles],
                centre=centres[c],
            )
        )
    return Discovery(proposals, labels, k, silhouette, method)


def distinctive_terms(
    texts: list[str], labels: np.ndarray, k: int, *, n_terms: int = N_TERMS
) -> list[list[tuple[str, float]]]:
    """Each cluster's ``n_terms`` most distinctive words and 2-word phrases by c-TF-IDF, with
    their weights (BERTopic's class-based TF-IDF: the cluster's texts as one document)."""
    from sklearn.feature_extraction.text import CountVectorizer

    try:
        counter = CountVectorizer(
            stop_words="english",
            ngram_range=(1, 2),
            min_df=2 if len(texts) >= 10 else 1,
            # A word in more records than the largest cluster holds is in several clusters
            # ("patients"): it names none of them.
            max_df=min(1.0, float(np.bincount(labels).max()) / len(labels) + MAX_DF_MARGIN),
            token_pattern=r"(?u)\b[^\W\d_][\w-]+\b",  # no bare numbers
        )
        matrix = counter.fit_transform(texts)
    except ValueError:  # no words at all (empty texts, or only stop words)
        return [[] for _ in range(k)]
    vocabulary = counter.get_feature_names_out()
    onehot = np.zeros((k, len(labels)), dtype=np.float64)
    onehot[labels, np.arange(len(labels))] = 1.0
    per_class = np.asarray((matrix.T @ onehot.T).T)  # (k, terms)
    tf = per_class / np.maximum(per_class.sum(axis=1, keepdims=True), 1.0)
    average = per_class.sum() / k
    idf = np.log1p(average / np.maximum(per_class.sum(axis=0), 1.0))
    weights = tf * idf
    out = []
    for c in range(k):
        top = np.argsort(-weights[c], kind="stable")[: n_terms * 3]
        chosen: list[tuple[str, float]] = []
        for t in top:
            if weights[c, t] <= 0:
                break
            term = str(vocabulary[t])
            # A word already inside a chosen phrase (or a phrase of chosen words) adds little.
            if any(term in other.split() or other in term.split() for other, _ in chosen):
                continue
            chosen.append((term, round(float(weights[c, t]), 6)))
            if len(chosen) == n_terms:
                break
        out.append(chosen)
    return out


def _checked(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array of embeddings, not shape {X.shape}")
    if len(X) < MIN_RECORDS:
        raise ValueError(f"theme discovery needs at least {MIN_RECORDS} records, got {len(X)}")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def _ward_cuts(X: np.ndarray, ks: range) -> dict[int, np.ndarray]:
    """Ward's tree over the rows, built once, cut at each k (labels 0..k-1)."""
    from scipy.cluster.hierarchy import cut_tree, linkage

    tree = linkage(X.astype(np.float64), method="ward")
    cuts = cut_tree(tree, n_clusters=list(ks))
    return {k: cuts[:, i].astype(np.int64) for i, k in enumerate(ks)}


def _hdbscan(X: np.ndarray) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    min_size = max(5, len(X) // 100)
    labels = HDBSCAN(min_cluster_size=min_size, metric="cosine", copy=True).fit_predict(X)
    found = sorted(set(labels.tolist()) - {-1})
    if not found:
        return np.zeros(len(X), dtype=np.int64)
    centres = _centres(X, labels, found)
    noise = labels == -1
    if noise.any():
        labels = labels.copy()
        labels[noise] = np.array(found)[np.argmax(X[noise] @ centres.T, axis=1)]
    return _relabelled(labels)


def _centres(X: np.ndarray, labels: np.ndarray, clusters: int | list[int]) -> np.ndarray:
    """The normalised mean of each cluster's rows."""
    ids = range(clusters) if isinstance(clusters, int) else clusters
    centres = np.stack([X[labels == c].mean(axis=0) for c in ids])
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    return (centres / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _relabelled(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1, largest cluster first (ties by first row)."""
    values, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(values)), key=lambda i: (-counts[i], first[i]))
    mapping = {int(values[i]): new for new, i in enumerate(order)}
    return np.array([mapping[int(v)] for v in labels], dtype=np.int64)
