"""The review question as a ranking signal: BM25 and embedding similarity of every record to it.

The question (or the inclusion criteria) a team writes before screening says what it looks for
in words (lexical: BM25 over the records' title and abstract, in the corpus TF-IDF's vocabulary)
and in meaning (the cosine of the records' MiniLM vectors to the question's). Neither depends on
the labels, so the signal of a corpus is computed once per question and read by the relevance
model for as long as it helps (``RelevanceModel``'s ``question_weight``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from classifier.features import CorpusFeatures

__all__ = ["bm25_scores", "question_signal"]

BM25_K1 = 1.2
BM25_B = 0.75


# Rows per block when BM25 reads the counts back: bounds the temporary arrays (a block of
# 10,000 records is about 2 million stored terms) whatever the corpus size.
_BLOCK_ROWS = 10_000


def _term_counts(tfidf: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """The term counts behind rows of the corpus TF-IDF (sublinear tf, L2-normalised rows).

    Each stored value is ``(1 + ln tf) * idf / norm``; divided by the idf it is
    ``(1 + ln tf) / norm``, whose smallest value in a row is ``1 / norm`` for the row's rarest
    term (a count of one: every title-and-abstract has a word or bigram seen once). No second
    pass over the texts is needed, and the counts are exact whenever a row has such a term.
    """
    scaled = tfidf.data.astype(np.float64) / idf[tfidf.indices]
    lengths = np.diff(tfidf.indptr)
    starts = tfidf.indptr[:-1][lengths > 0]
    smallest = np.ones(tfidf.shape[0])
    if len(starts):
        smallest[lengths > 0] = np.minimum.reduceat(scaled, starts)
    norm = np.repeat(1.0 / np.where(smallest > 0, smallest, 1.0), lengths)
    counts = np.rint(np.exp(np.maximum(scaled * norm - 1.0, 0.0)))
    return sp.csr_matrix((counts, tfidf.indices, tfidf.indptr), shape=tfidf.shape)


def bm25_scores(features: CorpusFeatures, text: str) -> np.ndarray:
    """Okapi BM25 (k1 1.2, b 0.75) of every record for the query ``text``, over the corpus
    TF-IDF's terms (word 1-2-grams): one value per row, 0 where no term matches. The counts
    are read back a block of rows at a time, so memory stays bounded at any corpus size."""
    n = len(features)
    query = features.vectorizer.transform([text or ""])
    terms = np.unique(query.indices)
    if not len(terms) or not n:
        return np.zeros(n)
    tfidf = features.tfidf.tocsr()
    idf_all = np.asarray(features.vectorizer.idf_, dtype=np.float64)
    lengths = np.zeros(n)
    blocks: list[sp.csr_matrix] = []
    for start in range(0, n, _BLOCK_ROWS):
        counts = _term_counts(tfidf[start : start + _BLOCK_ROWS], idf_all)
        lengths[start : start + counts.shape[0]] = np.asarray(counts.sum(axis=1)).ravel()
        blocks.append(counts[:, terms])
    average = float(lengths.mean()) or 1.0
    # The document frequency, back from the vectorizer's smooth idf = ln((1 + n) / (1 + df)) + 1.
    n_docs = (1 + n) / np.exp(idf_all[terms] - 1) - 1
    df = np.clip(n_docs, 0, n)
    idf = np.log((n - df + 0.5) / (df + 0.5) + 1.0)
    tf = sp.vstack(blocks, format="csr").tocoo()
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[tf.row] / average)
    weights = idf[tf.col] * tf.data * (BM25_K1 + 1) / (tf.data + norm)
    return np.bincount(tf.row, weights=weights, minlength=n)


def _zscore(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return values
    centred = values - values.mean()
    std = centred.std()
    return centred / std if std > 0 else centred


def question_signal(
    features: CorpusFeatures, text: str, vector: np.ndarray | None = None
) -> np.ndarray:
    """How well each record answers the question: z(BM25) + z(cosine to the question's
    vector), z-scored over the corpus, one value per row (the lexical part alone without
    ``vector``)."""
    text = (text or "").strip()
    if not text:
        raise ValueError("the question is empty")
    score = _zscore(bm25_scores(features, text))
    if vector is not None:
        vector = np.asarray(vector, dtype=np.float32).ravel()
        if vector.shape[0] != features.vectors.shape[1]:
            raise ValueError(
                f"question vector has {vector.shape[0]} dimensions, the records "
                f"{features.vectors.shape[1]}"
            )
        norm = float(np.linalg.norm(vector))
        if norm > 0:
            score = score + _zscore(features.vectors @ (vector / norm))
    return _zscore(score)
