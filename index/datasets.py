"""Labeled datasets as the simulator and the benchmarks see them: ids, texts, labels, vectors.

A labeled export (any format ``index.readers`` reads) becomes a ``LabeledDataset``; its vectors
come through the same (model, text hash) cache as a project's records, in a store of their own,
so replaying a dataset a second time embeds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.corpus import embed_texts
from index.embedder import TextEncoder
from index.errors import ImportFormatError
from index.readers import read_records
from index.records import embedding_text
from index.store import Store


@dataclass(frozen=True)
class LabeledDataset:
    """One labeled review: the file's own record ids, the texts embedded (title and
    abstract), 0/1 labels, and what the relevance TF-IDF reads (``lexical``: with the
    keywords, ``index.records.lexical_text``; the texts when not given)."""

    name: str
    ids: list[str]
    texts: list[str]
    labels: np.ndarray
    lexical: list[str] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_included(self) -> int:
        return int(self.labels.sum())


def read_labeled(path: str | Path) -> LabeledDataset:
    """Every record of a labeled export, in file order. Raises ``ImportFormatError`` naming the
    file and the first record without an include/exclude label."""
    path = Path(path)
    records = read_records(path)
    ids: list[str] = []
    texts: list[str] = []
    lexical: list[str] = []
    labels: list[int] = []
    for position, record in enumerate(records, start=1):
        if record.label is None:
            where = f"line {record.line}" if record.line else f"record {position}"
            raise ImportFormatError(
                f"{path.name}: {where} has no include/exclude label; a simulation needs every "
                "record labeled"
            )
        ids.append(record.source_id or str(position))
        texts.append(embedding_text(record.title, record.abstract))
        lexical.append(record.lexical_text)
        labels.append(1 if record.label == 1 else 0)
    return LabeledDataset(path.stem, ids, texts, np.asarray(labels, dtype=np.int8), lexical)


def dataset_vectors(
    dataset: LabeledDataset, encoder: TextEncoder, cache: str | Path, *, progress: bool = False
) -> np.ndarray:
    """Vectors of the dataset's texts (one row per record) through the embedding cache kept in
    the store at ``cache`` (a SQLite file, created when missing)."""
    store = Store(cache)
    try:
        return embed_texts(store, encoder, dataset.texts, progress=progress)
    finally:
        store.close()
