"""Exact cosine search: ``IndexIDMap2(IndexFlatIP(d))`` over L2-normalised vectors.

The FAISS id of a vector is its ``record_id``. An index on disk carries a JSON sidecar (model,
dimension, and a digest of its ids) so a stale or foreign file is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np


def ids_digest(ids: np.ndarray) -> str:
    """A digest of a set of record ids (order-independent)."""
    return hashlib.sha256(np.sort(np.asarray(ids, dtype=np.int64)).tobytes()).hexdigest()


class VectorIndex:
    """Record vectors searchable by inner product (cosine, since vectors are normalised)."""

    def __init__(self, dimension: int, model_id: str = "") -> None:
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, not {dimension}")
        self.dimension = dimension
        self.model_id = model_id
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, model_id: str = "") -> VectorIndex:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-d array, not shape {vectors.shape}")
        index = cls(vectors.shape[1], model_id)
        index.add(ids, vectors)
        return index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def ids(self) -> np.ndarray:
        """The record ids held, in insertion order."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise ValueError(f"vectors must have shape (n, {self.dimension}), not {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError(f"ids ({len(ids)}) and vectors ({len(vectors)}) differ in length")
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def search(
        self, query: np.ndarray, k: int = 10, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine scores of the ``k`` nearest records, best first.

        ``allowed`` restricts the search to those record ids (e.g. the unscreened ones).
        """
        if k <= 0:
            raise ValueError(f"k must be positive, not {k}")
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if query.shape[1] != self.dimension:
            raise ValueError(f"query has dimension {query.shape[1]}, index {self.dimension}")
        params = None
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if len(allowed) == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        k = min(k, len(self))
        if k == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self._index.search(query, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def search_batch(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Ids ``(m, k)`` and cosine scores of the ``k`` nearest records of each query row,
        best first; id -1 (score -inf) where the index holds fewer than ``k``."""
        if k <= 0:
            raise ValueError(f"k must be positive, not {k}")
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dimension:
            raise ValueError(f"queries must have shape (m, {self.dimension}), not {queries.shape}")
        scores, ids = self._index.search(queries, k)
        return ids, scores

    def save(self, path: str | Path, **meta: Any) -> None:
        """Write the index and its sidecar atomically (temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)
        sidecar = {
            "model": self.model_id,
            "dimension": self.dimension,
            "count": len(self),
            "ids_digest": ids_digest(self.ids),
            **meta,
        }
        tmp_meta = path.with_name(f".{path.name}.json.tmp")
        tmp_meta.write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
        os.replace(tmp_meta, path.with_name(path.name + ".json"))

    @classmethod
    def load(cls, path: str | Path, *, model_id: str, ids: np.ndarray) -> VectorIndex | None:
        """The index at ``path`` if it holds exactly ``ids`` for ``model_id``; else ``None``."""
        path = Path(path)
        try:
            sidecar = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if sidecar.get("model") != model_id or sidecar.get("ids_digest") != ids_digest(ids):
            return None
        try:
            raw = faiss.read_index(str(path))
        except RuntimeError:
            return None
        if not isinstance(raw, faiss.IndexIDMap2):
            return None
        index = cls(raw.d, model_id)
        index._index = raw
        if len(index) != len(ids) or ids_digest(index.ids) != sidecar["ids_digest"]:
            return None
        return index
