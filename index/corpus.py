"""A project's vectors: embed what the cache lacks, load the matrix, keep the FAISS index fresh."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .embedder import TextEncoder
from .records import text_hash
from .store import Store
from .vectors import VectorIndex

log = logging.getLogger(__name__)

EMBED_CHUNK = 256


@dataclass(frozen=True)
class EmbedReport:
    """How a project's texts were covered: newly embedded, found in the cache, without text."""

    embedded: int
    cached: int
    without_text: int


def embed_project(
    store: Store, encoder: TextEncoder, project_id: int, *, progress: bool = False
) -> EmbedReport:
    """Embed every text of the project the vector cache lacks, in chunks written as they finish.

    An interrupted run loses at most one chunk; the next run picks up from the cache.
    """
    rows = store.texts(project_id)
    hashes = {h: text for _, h, text in rows if h is not None}
    _, missing = _embed_missing(store, encoder, hashes, progress=progress)
    without_text = sum(1 for _, h, _ in rows if h is None)
    return EmbedReport(embedded=missing, cached=len(hashes) - missing, without_text=without_text)


def embed_texts(
    store: Store, encoder: TextEncoder, texts: Sequence[str], *, progress: bool = False
) -> np.ndarray:
    """Vectors of any texts (one row each, in order), through the same cache as records."""
    hashes = [text_hash(text) for text in texts]
    vectors, _ = _embed_missing(
        store, encoder, dict(zip(hashes, texts, strict=True)), progress=progress
    )
    if not texts:
        return np.zeros((0, encoder.dimension), dtype=np.float32)
    return np.stack([vectors[h] for h in hashes]).astype(np.float32, copy=False)


def _embed_missing(
    store: Store, encoder: TextEncoder, hashes: dict[str, str], *, progress: bool = False
) -> tuple[dict[str, np.ndarray], int]:
    """Vectors by text hash, embedding (in chunks written as they finish) what the cache
    lacks; and how many that was."""
    vectors = store.cached_vectors(encoder.model_id, hashes)
    missing = [h for h in hashes if h not in vectors]
    with tqdm(
        total=len(missing), desc="embedding", unit="rec", disable=not progress or not missing
    ) as bar:
        for start in range(0, len(missing), EMBED_CHUNK):
            chunk = missing[start : start + EMBED_CHUNK]
            encoded = encoder.encode_documents([hashes[h] for h in chunk])
            store.put_vectors(encoder.model_id, chunk, encoded)
            vectors.update(zip(chunk, encoded, strict=True))
            bar.update(len(chunk))
    return vectors, len(missing)


def project_vectors(store: Store, model_id: str, project_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Record ids (int64) and their vectors (float32, one row each) for embedded records."""
    return store.project_vectors(project_id, model_id)


def load_or_build_index(
    path: str | Path, model_id: str, dimension: int, ids: np.ndarray, vectors: np.ndarray
) -> VectorIndex:
    """The index saved at ``path`` when it holds exactly ``ids``; else rebuilt and saved."""
    index = VectorIndex.load(path, model_id=model_id, ids=ids)
    if index is not None:
        return index
    log.info("building the vector index %s (%d vectors)", path, len(ids))
    index = VectorIndex(dimension, model_id)
    index.add(ids, vectors.reshape(len(ids), dimension))
    index.save(path)
    return index
