"""A project's TF-IDF features saved beside its store, so that the process that builds them (a
job worker, after an import) is not the one that serves requests.

One ``.npz`` per project holds the two TF-IDF matrices, the record ids of their rows and the
records' version they were built for; the fitted vectorizers (needed only to map a review
update's new records) are pickled apart and loaded on first use. Both are written to a
temporary name and moved into place, so a reader sees a whole file or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from classifier.features import TextFeatures

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
    """A fitted vectorizer pickled at ``path``, loaded when first used (a project's vocabulary
    of 1-2-grams runs to millions of terms, which the queue and search never read)."""

    def __init__(self, path: Path, key: str) -> None:
        self._path, self._key = path, key
        self._loaded: Any = None
        self._lock = threading.Lock()

    def _vectorizer(self) -> Any:
        with self._lock:
            if self._loaded is None:
                with self._path.open("rb") as f:
                    self._loaded = pickle.load(f)[self._key]  # our own file, under HOME
            return self._loaded

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._vectorizer(), name)


def _digest(version: tuple[Any, ...]) -> str:
    return hashlib.sha256(json.dumps(list(version), default=str).encode()).hexdigest()[:16]


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
    """Write ``text`` to ``path`` (``.npz``) and its vectorizers beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = _digest(text.version)
    pickled = path.with_name(f"{path.stem}-{digest}.vectorizers.pkl")
    temporary = pickled.with_suffix(f".tmp{os.getpid()}")
    with temporary.open("wb") as f:
        pickle.dump(
            {"tfidf": text.features.vectorizer, "theme": text.features.theme_vectorizer},
            f,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    os.replace(temporary, pickled)
    temporary = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
    np.savez(
        temporary,
        version=np.array(json.dumps(list(text.version), default=str)),
        record_ids=text.record_ids,
        **_arrays("tfidf", text.features.tfidf),
        **_arrays("theme", text.features.theme_tfidf),
    )
    os.replace(temporary, path)
    for old in path.parent.glob(f"{path.stem}-*.vectorizers.pkl"):  # earlier versions'
        if old != pickled:
            old.unlink(missing_ok=True)


def load_text_features(path: Path, version: tuple[Any, ...]) -> ProjectText | None:
    """The features saved at ``path`` when they were built for ``version``, else ``None``."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if json.loads(str(arrays["version"])) != json.loads(json.dumps(list(version))):
                return None
            record_ids = np.asarray(arrays["record_ids"], dtype=np.int64)
            tfidf, theme = _matrix(arrays, "tfidf"), _matrix(arrays, "theme")
    except (OSError, ValueError, KeyError):
        return None
    pickled = path.with_name(f"{path.stem}-{_digest(version)}.vectorizers.pkl")
    if tfidf is None or not pickled.exists():
        return None
    features = TextFeatures(
        tfidf,
        SavedVectorizer(pickled, "tfidf"),  # type: ignore[arg-type]
        theme,
        SavedVectorizer(pickled, "theme") if theme is not None else None,  # type: ignore[arg-type]
    )
    return ProjectText(version, record_ids, features)
