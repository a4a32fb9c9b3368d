"""A project's TF-IDF features saved beside its store, so that the process that builds them (a
job worker, after an import) is not the one that serves requests.

One ``.npz`` per project holds the two TF-IDF matrices, the record ids of their rows, the
records' version they were built for, and the fitted vectorizers as plain arrays (terms and
idf: no pickle), which are read only when first used (to map a review update's new records).
It is written to a temporary name and moved into place, so a reader sees a whole file or none.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from classifier.features import TextFeatures, restore_vectorizer, vectorizer_state

__all__ = ["ProjectText", "load_text_features", "save_text_features"]


@dataclass(frozen=True, eq=False)
class ProjectText:
    """``features`` of the project's records ``record_ids`` (ascending), as they stood at
    ``version`` (``Store.records_version`` and the model suite's name)."""

    version: tuple[Any, ...]
    record_ids: np.ndarray
    features: TextFeatures

    def rows_of(self, record_ids: np.ndarray) -> np.ndarray:
        """The rows of ``record_ids`` (each one of ``self.record_ids``)."""
        rows = np.searchsorted(self.record_ids, record_ids)
        known = self.record_ids
        if len(rows) and (rows.max() >= len(known) or not np.array_equal(known[rows], record_ids)):
            raise ValueError("a record has no TF-IDF row: the features are of other records")
        return rows


class SavedVectorizer:
    """A fitted vectorizer as ``vectorizer_state`` saved it, made into a vectorizer when first
    used: its terms stay one compact byte array until then (a project's vocabulary of 1-2-grams
    runs to millions of terms, whose dictionary the queue and search never read)."""

    def __init__(self, terms: np.ndarray, idf: np.ndarray, *, theme: bool) -> None:
        self._state = (terms, idf, theme)
        self._loaded: Any = None
        self._lock = threading.Lock()

    def _vectorizer(self) -> Any:
        with self._lock:
            if self._loaded is None:
                terms, idf, theme = self._state
                self._loaded = restore_vectorizer(terms, idf, theme=theme)
            return self._loaded

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._vectorizer(), name)


def _saved_vectorizer(arrays: Any, prefix: str) -> SavedVectorizer | None:
    if f"{prefix}_terms" not in arrays:
        return None
    return SavedVectorizer(
        np.asarray(arrays[f"{prefix}_terms"]),
        np.asarray(arrays[f"{prefix}_idf"]),
        theme=prefix == "theme",
    )


def _arrays(prefix: str, matrix: sp.csr_matrix | None) -> dict[str, np.ndarray]:
    if matrix is None:
        return {}
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.array(matrix.shape, dtype=np.int64),
    }


def _matrix(arrays: Any, prefix: str) -> sp.csr_matrix | None:
    if f"{prefix}_data" not in arrays:
        return None
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=tuple(int(n) for n in arrays[f"{prefix}_shape"]),
    )


def save_text_features(path: Path, text: ProjectText) -> None:
    """Write ``text`` to ``path`` (``.npz``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    vectorizers: dict[str, np.ndarray] = {}
    for prefix, fitted in (
        ("tfidf", text.features.vectorizer),
        ("theme", text.features.theme_vectorizer),
    ):
        if fitted is not None:
            terms, idf = vectorizer_state(fitted)
            vectorizers |= {f"{prefix}_terms": terms, f"{prefix}_idf": idf}
    temporary = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    np.savez(
        temporary,
        version=np.array(json.dumps(list(text.version), default=str)),
        record_ids=text.record_ids,
        **_arrays("tfidf", text.features.tfidf),
        **_arrays("theme", text.features.theme_tfidf),
        **vectorizers,
    )
    os.replace(temporary, path)


def load_text_features(path: Path, version: tuple[Any, ...]) -> ProjectText | None:
    """The features saved at ``path`` when they were built for ``version``, else ``None``."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if json.loads(str(arrays["version"])) != json.loads(json.dumps(list(version))):
                return None
            record_ids = np.asarray(arrays["record_ids"], dtype=np.int64)
            tfidf, theme = _matrix(arrays, "tfidf"), _matrix(arrays, "theme")
            vectorizer = _saved_vectorizer(arrays, "tfidf")
            theme_vectorizer = _saved_vectorizer(arrays, "theme")
    except (OSError, ValueError, KeyError):
        return None
    if tfidf is None or vectorizer is None:
        return None
    features = TextFeatures(tfidf, vectorizer, theme, theme_vectorizer)  # type: ignore[arg-type]
    return ProjectText(version, record_ids, features)
