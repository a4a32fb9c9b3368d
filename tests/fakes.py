"""A deterministic stand-in for the sentence-transformers model, for fast unit tests.

Words are hashed into a fixed number of dimensions (the hashing trick), so texts that share
words have a high cosine: enough for search and ranking tests to mean something.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from functools import cache

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


@cache
def _slot(word: str, dimension: int) -> tuple[int, float]:
    """A word's bucket and sign (the hash computed once per word: imports in tests embed
    thousands of texts)."""
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % dimension, 1.0 if digest[4] & 1 else -1.0


class HashingEncoder:
    """Bag-of-words vectors, L2-normalised, float32."""

    def __init__(self, dimension: int = 256, model_id: str = "test-hashing") -> None:
        self.dimension = dimension
        self.model_id = model_id
        self.calls = 0
        self.encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word, count in Counter(_WORD.findall(text.lower())).items():
            bucket, sign = _slot(word, self.dimension)
            vector[bucket] += sign * count  # small integers: the same sums in any order
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.encoded += len(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class SlowHashingEncoder(HashingEncoder):
    """The hashing encoder taking ``delay`` seconds per batch: a job that is still embedding
    when a test kills its worker."""

    def __init__(self, delay: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.delay = delay

    def encode_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        import time

        time.sleep(self.delay)
        return super().encode_documents(texts, progress=progress)
