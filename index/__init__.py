"""Records and their vectors: readers, dedup, the SQLite store, the embedder, the FAISS index."""

from .embedder import Embedder
from .readers import read_records
from .records import Record
from .store import Store
from .vectors import VectorIndex

__all__ = ["Embedder", "Record", "Store", "VectorIndex", "read_records"]
