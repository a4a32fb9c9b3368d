"""A project's vectors: embed what the cache lacks, load the matrix, keep the FAISS index fresh."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .embedder import TextEncoder
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
    cached = store.cached_vectors(encoder.model_id, hashes)
    missing = [h for h in hashes if h not in cached]
    with tqdm(
        total=len(missing), desc="embedding", unit="rec", disable=not progress or not missing
    ) as bar:
        for start in range(0, len(missing), EMBED_CHUNK):
            chunk = missing[start : start + EMBED_CHUNK]
            vectors = encoder.encode_documents([hashes[h] for h in chunk])
            store.put_vectors(encoder.model_id, chunk, vectors)
            bar.update(len(chunk))
    without_text = sum(1 for _, h, _ in rows if h is None)
    return EmbedReport(
        embedded=len(missing), cached=len(hashes) - len(missing), without_text=without_text
    )


def project_vectors(store: Store, model_id: str, project_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Record ids (int64) and their vectors (float32, one row each) for embedded records."""
    rows = [(record_id, h) for record_id, h, _ in store.texts(project_id) if h is not None]
    cached = store.cached_vectors(model_id, (h for _, h in rows))
    rows = [(record_id, h) for record_id, h in rows if h in cached]
    ids = np.array([record_id for record_id, _ in rows], dtype=np.int64)
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    return ids, np.stack([cached[h] for _, h in rows]).astype(np.float32, copy=False)


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
