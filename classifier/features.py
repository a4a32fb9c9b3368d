"""What a relevance model reads for a set of records: TF-IDF rows and embeddings, side by side.

TF-IDF is fitted on the whole corpus of a review (labelled and unlabelled records), as ASReview
does, so its vocabulary and document frequencies are fixed for the corpus state; new records of a
review update are mapped into the same vocabulary with ``transform``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["CorpusFeatures", "TextFeatures", "restore_vectorizer", "vectorizer_state"]

TFIDF_PARAMS = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1, "max_df": 0.95}
# The theme model's lexical part reads its own TF-IDF: terms in two records or more, English
# stop words left out (bench/themes.py: top-1 0.962 with it, 0.959 with the relevance TF-IDF).
THEME_TFIDF_PARAMS = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2}


def _vectorizer(**extra) -> TfidfVectorizer:
    return TfidfVectorizer(dtype=np.float32, **(TFIDF_PARAMS | extra))


def _normalised(vectors: np.ndarray, n: int) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != n:
        raise ValueError(f"vectors must have shape ({n}, d), not {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.all(np.abs(norms - 1.0) < 1e-4):
        return vectors  # normalised already (the encoders' vectors): no copy at 100k x 384
    return vectors / np.where(norms > 0, norms, 1.0)


def vectorizer_state(vectorizer: TfidfVectorizer) -> tuple[np.ndarray, np.ndarray]:
    """A fitted vectorizer as two plain arrays (no pickle): its terms in column order, joined
    by newlines (a term, one word or two, holds no newline) as UTF-8 bytes, and its idf."""
    vocabulary = vectorizer.vocabulary_
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    joined = "\n".join(terms).encode("utf-8")
    return np.frombuffer(joined, dtype=np.uint8), np.asarray(vectorizer.idf_, dtype=np.float64)


def restore_vectorizer(terms: np.ndarray, idf: np.ndarray, *, theme: bool) -> TfidfVectorizer:
    """The vectorizer ``vectorizer_state`` stored (``theme``: the theme model's own)."""
    words = np.asarray(terms, dtype=np.uint8).tobytes().decode("utf-8").split("\n")
    vocabulary = {term: column for column, term in enumerate(words)}
    if theme:
        vectorizer = TfidfVectorizer(
            dtype=np.float32, stop_words="english", vocabulary=vocabulary, **THEME_TFIDF_PARAMS
        )
    else:
        vectorizer = _vectorizer(vocabulary=vocabulary)
    vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
    vectorizer.vocabulary_ = vocabulary
    return vectorizer


@dataclass(frozen=True, eq=False)
class TextFeatures:
    """The TF-IDF half of ``CorpusFeatures``: it depends on the records' texts alone, so a
    project builds it once per set of records (a worker process, after an import) while the
    embeddings still land, and pairs it with the embedded rows (``with_vectors``).

    The vectorizers are needed only to map new records (a review update); ``vectorizer`` may
    be any object with the vectorizer's methods (a saved one loaded on first use)."""

    tfidf: sp.csr_matrix
    vectorizer: TfidfVectorizer
    theme_tfidf: sp.csr_matrix | None = None
    theme_vectorizer: TfidfVectorizer | None = None

    @classmethod
    def build(cls, texts: Sequence[str], lexical: Sequence[str] | None = None) -> TextFeatures:
        """Fit TF-IDF (word 1-2-grams, sublinear tf, max_df 0.95) on ``lexical`` (the texts
        the relevance model reads: title, abstract and keywords,
        ``index.records.lexical_text``; ``texts`` when ``None``), and the theme model's own
        TF-IDF (``THEME_TFIDF_PARAMS``) on ``texts`` (title and abstract)."""
        texts = [text or "" for text in texts]
        if not texts:
            raise ValueError("texts is empty")
        lexical = texts if lexical is None else [text or "" for text in lexical]
        if len(lexical) != len(texts):
            raise ValueError(f"lexical has {len(lexical)} texts for {len(texts)} texts")
        # max_df=0.95 prunes everything from a corpus of one or two records; keep all terms then.
        vectorizer = _vectorizer() if len(texts) > 2 else _vectorizer(max_df=1.0)
        tfidf = vectorizer.fit_transform(lexical).tocsr()
        theme_vectorizer = TfidfVectorizer(
            dtype=np.float32, stop_words="english", **THEME_TFIDF_PARAMS
        )
        try:
            theme_tfidf = theme_vectorizer.fit_transform(texts).tocsr()
        except ValueError:  # no term in two records (a tiny corpus)
            theme_tfidf, theme_vectorizer = None, None
        return cls(tfidf, vectorizer, theme_tfidf, theme_vectorizer)

    def __len__(self) -> int:
        return self.tfidf.shape[0]

    def with_vectors(self, vectors: np.ndarray, rows: np.ndarray | None = None) -> CorpusFeatures:
        """``CorpusFeatures`` of ``rows`` (all, in order, when ``None``) with their
        embeddings ``vectors`` (one per row)."""
        tfidf, theme_tfidf = self.tfidf, self.theme_tfidf
        if rows is not None and not (
            len(rows) == tfidf.shape[0] and np.array_equal(rows, np.arange(len(rows)))
        ):
            tfidf = tfidf[rows]
            theme_tfidf = theme_tfidf[rows] if theme_tfidf is not None else None
        return CorpusFeatures(
            tfidf,
            _normalised(vectors, tfidf.shape[0]),
            self.vectorizer,
            theme_tfidf,
            self.theme_vectorizer,
        )


@dataclass(frozen=True, eq=False)
class CorpusFeatures:
    """TF-IDF matrix and L2-normalised embeddings of the same records, row for row.

    ``vectorizer`` is the fitted ``TfidfVectorizer`` (kept so new records share the vocabulary).
    ``theme_tfidf`` / ``theme_vectorizer``: the theme model's own TF-IDF of the same records
    (``THEME_TFIDF_PARAMS``; ``None`` when the corpus has no term in two records).
    """

    tfidf: sp.csr_matrix
    vectors: np.ndarray
    vectorizer: TfidfVectorizer
    theme_tfidf: sp.csr_matrix | None = None
    theme_vectorizer: TfidfVectorizer | None = None

    def __post_init__(self) -> None:
        if self.tfidf.shape[0] != len(self.vectors):
            raise ValueError(
                f"tfidf has {self.tfidf.shape[0]} rows but vectors has {len(self.vectors)}"
            )

    @classmethod
    def build(
        cls, texts: Sequence[str], vectors: np.ndarray, lexical: Sequence[str] | None = None
    ) -> CorpusFeatures:
        """Fit TF-IDF (word 1-2-grams, sublinear tf, max_df 0.95) on ``lexical`` (else
        ``texts``), see ``TextFeatures.build``."""
        return TextFeatures.build(texts, lexical).with_vectors(vectors)

    def transform(
        self, texts: Sequence[str], vectors: np.ndarray, lexical: Sequence[str] | None = None
    ) -> CorpusFeatures:
        """Features of new records (a review update's hits) in this corpus's vocabulary;
        ``lexical`` as in ``build``."""
        texts = [text or "" for text in texts]
        lexical = texts if lexical is None else [text or "" for text in lexical]
        vectors = _normalised(vectors, len(texts))
        theme = self.theme_vectorizer
        return CorpusFeatures(
            self.vectorizer.transform(lexical).tocsr(),
            vectors,
            self.vectorizer,
            theme.transform(texts).tocsr() if theme is not None else None,
            theme,
        )

    def subset(self, rows: np.ndarray) -> CorpusFeatures:
        """The features of ``rows`` (positions or a boolean mask), in that order."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return CorpusFeatures(
            self.tfidf[rows],
            self.vectors[rows],
            self.vectorizer,
            self.theme_tfidf[rows] if self.theme_tfidf is not None else None,
            self.theme_vectorizer,
        )

    def __len__(self) -> int:
        return len(self.vectors)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (no objects, so ``np.load(allow_pickle=False)`` reads them back)."""
        vocabulary = self.vectorizer.vocabulary_
        terms = np.empty(len(vocabulary), dtype=object)
        for term, column in vocabulary.items():
            terms[column] = term
        return {
            "tfidf_data": self.tfidf.data,
            "tfidf_indices": self.tfidf.indices,
            "tfidf_indptr": self.tfidf.indptr,
            "tfidf_shape": np.array(self.tfidf.shape, dtype=np.int64),
            "vectors": self.vectors,
            "terms": terms.astype(str),
            "idf": self.vectorizer.idf_.astype(np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CorpusFeatures:
        terms = [str(term) for term in arrays["terms"]]
        vectorizer = _vectorizer(vocabulary={term: i for i, term in enumerate(terms)})
        vectorizer.idf_ = np.asarray(arrays["idf"], dtype=np.float64)
        vectorizer.vocabulary_ = vectorizer.vocabulary
        tfidf = sp.csr_matrix(
            (arrays["tfidf_data"], arrays["tfidf_indices"], arrays["tfidf_indptr"]),
            shape=tuple(int(n) for n in arrays["tfidf_shape"]),
        )
        return cls(tfidf, np.asarray(arrays["vectors"], dtype=np.float32), vectorizer)
