"""The review question as a ranking signal: BM25 and embedding similarity of every record to it.

The question (or the inclusion criteria) a team writes before screening says what it looks for
in words (lexical: BM25 over the records' title, abstract and keywords, in the corpus TF-IDF's
vocabulary) and in meaning (the cosine of the records' MiniLM vectors to the question's).
Neither depends on the labels, so the signal of a corpus is computed once per question and read
by the relevance model for as long as it helps (``RelevanceModel``'s ``question_weight``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from classifier.features import CorpusFeatures

__all__ = [
    "Bm25Corpus",
    "QuestionReference",
    "bm25_scores",
    "corpus_question_signal",
    "question_signal",
]

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


@dataclass(frozen=True)
class Bm25Corpus:
    """What BM25 reads from the whole corpus: its number of records and their average length
    (in terms of the TF-IDF vocabulary); the document frequencies come from its vectorizer."""

    records: int
    average_length: float


def _lengths(features: CorpusFeatures, terms: np.ndarray) -> tuple[np.ndarray, list[sp.csr_matrix]]:
    """Each record's length in terms and, for the columns ``terms``, its term counts, read a
    block of rows at a time (which bounds the temporary arrays, whatever the corpus size)."""
    tfidf = features.tfidf.tocsr()
    idf = np.asarray(features.vectorizer.idf_, dtype=np.float64)
    lengths = np.zeros(tfidf.shape[0])
    blocks: list[sp.csr_matrix] = []
    for start in range(0, tfidf.shape[0], _BLOCK_ROWS):
        counts = _term_counts(tfidf[start : start + _BLOCK_ROWS], idf)
        lengths[start : start + counts.shape[0]] = np.asarray(counts.sum(axis=1)).ravel()
        blocks.append(counts[:, terms])
    return lengths, blocks


def bm25_scores(
    features: CorpusFeatures, text: str, *, corpus: Bm25Corpus | None = None
) -> np.ndarray:
    """Okapi BM25 (k1 1.2, b 0.75) of every record for the query ``text``, over the corpus
    TF-IDF's terms (word 1-2-grams): one value per row, 0 where no term matches.

    ``corpus``: when ``features`` are new records in a corpus's vocabulary (a review update's
    hits, ``CorpusFeatures.transform``), that corpus's statistics, so that a hit scores as it
    would among the corpus's records; by default ``features`` are the corpus."""
    return _bm25(features, text, corpus)[0]


def _bm25(
    features: CorpusFeatures, text: str, corpus: Bm25Corpus | None
) -> tuple[np.ndarray, Bm25Corpus]:
    """``bm25_scores`` and the corpus statistics it used."""
    n = len(features)
    terms = np.unique(features.vectorizer.transform([text or ""]).indices)
    lengths, blocks = _lengths(features, terms) if n else (np.zeros(0), [])
    if corpus is None:
        corpus = Bm25Corpus(n, float(lengths.mean()) if n else 1.0)
    if not len(terms) or not n:
        return np.zeros(n), corpus
    average = corpus.average_length or 1.0
    size = corpus.records
    # The document frequency, back from the vectorizer's smooth idf = ln((1 + n) / (1 + df)) + 1.
    idf_all = np.asarray(features.vectorizer.idf_, dtype=np.float64)
    df = np.clip((1 + size) / np.exp(idf_all[terms] - 1) - 1, 0, size)
    idf = np.log((size - df + 0.5) / (df + 0.5) + 1.0)
    tf = sp.vstack(blocks, format="csr").tocoo()
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[tf.row] / average)
    weights = idf[tf.col] * tf.data * (BM25_K1 + 1) / (tf.data + norm)
    return np.bincount(tf.row, weights=weights, minlength=n), corpus


def _location_scale(values: np.ndarray) -> tuple[float, float]:
    if not len(values):
        return 0.0, 1.0
    std = float(values.std())
    return float(values.mean()), std if std > 0 else 1.0


@dataclass(frozen=True)
class QuestionReference:
    """The corpus side of a question signal, so that new records (a review update's hits)
    are scored as the corpus's own records are: BM25's corpus statistics and where each
    part (BM25, cosine) lies over the corpus (mean and standard deviation)."""

    corpus: Bm25Corpus
    bm25: tuple[float, float]
    cosine: tuple[float, float] | None
    final: tuple[float, float]


def _cosine(features: CorpusFeatures, vector: np.ndarray | None) -> np.ndarray | None:
    if vector is None:
        return None
    vector = np.asarray(vector, dtype=np.float32).ravel()
    if vector.shape[0] != features.vectors.shape[1]:
        raise ValueError(
            f"question vector has {vector.shape[0]} dimensions, the records "
            f"{features.vectors.shape[1]}"
        )
    norm = float(np.linalg.norm(vector))
    return features.vectors @ (vector / norm) if norm > 0 else None


def _checked(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValueError("the question is empty")
    return text


def corpus_question_signal(
    features: CorpusFeatures, text: str, vector: np.ndarray | None = None
) -> tuple[np.ndarray, QuestionReference]:
    """How well each record of a corpus answers the question: z(BM25) + z(cosine to the
    question's vector), z-scored over the corpus, one value per row (the lexical part alone
    without ``vector``); and the ``QuestionReference`` that scores new records the same way."""
    bm25, corpus = _bm25(features, _checked(text), None)
    bm25_at = _location_scale(bm25)
    score = (bm25 - bm25_at[0]) / bm25_at[1]
    cosine = _cosine(features, vector)
    cosine_at = None
    if cosine is not None:
        cosine_at = _location_scale(cosine)
        score = score + (cosine - cosine_at[0]) / cosine_at[1]
    final_at = _location_scale(score)
    reference = QuestionReference(corpus, bm25_at, cosine_at, final_at)
    return (score - final_at[0]) / final_at[1], reference


def question_signal(
    features: CorpusFeatures,
    text: str,
    vector: np.ndarray | None = None,
    *,
    reference: QuestionReference | None = None,
) -> np.ndarray:
    """The question signal of every row of ``features`` (``corpus_question_signal``); with
    ``reference``, ``features`` are new records in a corpus's vocabulary
    (``CorpusFeatures.transform``) and each gets the value it would have as a record of that
    corpus."""
    if reference is None:
        return corpus_question_signal(features, text, vector)[0]
    bm25 = bm25_scores(features, _checked(text), corpus=reference.corpus)
    score = (bm25 - reference.bm25[0]) / reference.bm25[1]
    cosine = _cosine(features, vector)
    if cosine is not None and reference.cosine is not None:
        score = score + (cosine - reference.cosine[0]) / reference.cosine[1]
    return (score - reference.final[0]) / reference.final[1]
