"""Records and their vectors: readers, dedup, the SQLite store, the embedder, the FAISS index."""

__all__ = ["Embedder", "Record", "Store", "VectorIndex", "read_records"]

# Each name is imported on first use (PEP 562): the store and the readers do not load the
# embedder's or FAISS's libraries.
_MODULES = {
    "Embedder": "embedder",
    "read_records": "readers",
    "Record": "records",
    "Store": "store",
    "VectorIndex": "vectors",
}


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"index.{_MODULES[name]}"), name)
